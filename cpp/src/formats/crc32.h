// CRC-32 as zip files use it (IEEE 802.3 polynomial, reflected).
#pragma once

#include <cstddef>
#include <cstdint>

namespace litetrain::detail {

// The CRC of `data`, continuing from `crc` (the result for the bytes before;
// 0 to start): Crc32(b, nb, Crc32(a, na)) == Crc32(a + b).
uint32_t Crc32(const void* data, std::size_t size, uint32_t crc = 0) noexcept;

}  // namespace litetrain::detail
