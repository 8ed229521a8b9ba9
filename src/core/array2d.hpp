// A row-major matrix of doubles: the N x 1 signals and the (N+1) x M weight trajectory.
#pragma once

#include <cstddef>
#include <vector>

namespace lmsref {

struct Array2D {
    std::size_t rows = 0;
    std::size_t cols = 0;
    std::vector<double> values;

    Array2D() = default;
    Array2D(std::size_t rows_, std::size_t cols_) : rows(rows_), cols(cols_), values(rows_ * cols_, 0.0) {}
    double& operator()(std::size_t r, std::size_t c) { return values[r * cols + c]; }
    double operator()(std::size_t r, std::size_t c) const { return values[r * cols + c]; }
    std::vector<double> row(std::size_t r) const {
        return {values.begin() + static_cast<std::ptrdiff_t>(r * cols),
                values.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols)};
    }
};

/// A signal of N values as an N x 1 array.
inline Array2D column(const std::vector<double>& values) {
    Array2D array(values.size(), 1);
    array.values = values;
    return array;
}

} // namespace lmsref
