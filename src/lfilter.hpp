// scipy.signal.lfilter(b, 1, x) for an FIR filter, with SciPy's order of additions.
#pragma once

#include <vector>

namespace lmsref {

/// y(n) = sum_k b(k) x(n - k), zero initial state. Each output is summed from the oldest tap to the newest,
/// starting from 0.0: the order of `np.convolve` (which `lfilter` uses when a = 1) and of the direct-form-II
/// transposed filter, so the result matches SciPy bit for bit.
std::vector<double> lfilter_fir(const std::vector<double>& b, const std::vector<double>& x);

} // namespace lmsref
