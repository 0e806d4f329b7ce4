// Permuting the dimensions of a dense tensor held as raw bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace litetrain {

// Returns `src` (C order, dimensions `shape`, `item` bytes per element)
// transposed by `perm`: output dimension i is input dimension perm[i], as
// TFLite's TRANSPOSE computes it. `perm` must be a permutation of 0..rank-1.
std::vector<uint8_t> TransposeBytes(const uint8_t* src, const std::vector<int64_t>& shape,
                                    const std::vector<int32_t>& perm, std::size_t item);

}  // namespace litetrain
