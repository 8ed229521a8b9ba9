// NumPy's .npy format: lmsref writes format 1.0, little-endian float64, C order, byte for byte as np.save does.
#pragma once

#include "core/array2d.hpp"

#include <string>

namespace lmsref {

/// The .npy bytes of an array, as NumPy writes them (1-D when `as_vector`).
std::string encode_npy(const Array2D& array, bool as_vector = false);
/// Parses .npy bytes: float64, float32 and integer dtypes (converted to float64, exactly: an integer beyond 2^53
/// is refused), C or Fortran order, 0 to 2 dimensions. `name` only labels the messages. Throws InputError.
/// When the dtype was not float64, names it in `*converted_from` ("float32", "int16", ...), if given.
Array2D decode_npy(const std::string& bytes, const std::string& name, std::string* converted_from = nullptr);

} // namespace lmsref
