#include "transpose.h"

#include <cstring>

namespace litetrain {

std::vector<uint8_t> TransposeBytes(const uint8_t* src, const std::vector<int64_t>& shape,
                                    const std::vector<int32_t>& perm, std::size_t item) {
  const std::size_t rank = shape.size();
  std::vector<int64_t> src_strides(rank, 1);
  for (std::size_t d = rank; d-- > 1;) src_strides[d - 1] = src_strides[d] * shape[d];
  std::vector<int64_t> out_shape(rank), out_strides(rank);  // strides of the source, in output order
  int64_t count = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    out_shape[i] = shape[static_cast<std::size_t>(perm[i])];
    out_strides[i] = src_strides[static_cast<std::size_t>(perm[i])];
    count *= out_shape[i];
  }
  std::vector<uint8_t> out(static_cast<std::size_t>(count) * item);
  std::vector<int64_t> index(rank, 0);  // multi-index into the output, last dimension fastest
  int64_t offset = 0;                   // the matching element of the source
  for (int64_t n = 0; n < count; ++n) {
    std::memcpy(out.data() + static_cast<std::size_t>(n) * item, src + static_cast<std::size_t>(offset) * item, item);
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < out_shape[d]) {
        offset += out_strides[d];
        break;
      }
      offset -= out_strides[d] * (out_shape[d] - 1);
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace litetrain
