// libFuzzer target: the .npy reader (ReadNpy) on arbitrary bytes. It may only
// return an array or throw FileFormatError; anything else escapes and
// libFuzzer reports it (an uncaught exception aborts).
#include <cstddef>
#include <cstdint>

#include "input_file.h"
#include "litetrain/errors.h"
#include "litetrain/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string& path = litetrain::fuzz::WriteInputFile(data, size, ".npy");
  try {
    const litetrain::NamedTensor tensor = litetrain::ReadNpy(path);
    // What a caller does next: trust the bytes to match dtype and shape.
    if (tensor.bytes.size() !=
        static_cast<std::size_t>(tensor.shape.num_elements()) * litetrain::ItemSize(tensor.dtype)) {
      __builtin_trap();
    }
  } catch (const litetrain::FileFormatError&) {
  }
  return 0;
}
