// SHA-256 (FIPS 180-4), for the checksum of checkpoint files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace litetrain::detail {

class Sha256 {
 public:
  Sha256() noexcept;
  void Update(const void* data, std::size_t size) noexcept;
  void Update(std::string_view text) noexcept { Update(text.data(), text.size()); }
  // The digest as 64 lowercase hex digits. Call once; the object is spent.
  std::string HexDigest() noexcept;

 private:
  void Compress(const uint8_t* block) noexcept;

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> block_{};
  std::size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace litetrain::detail
