// libFuzzer target: the checkpoint reader (LoadCheckpoint) on arbitrary
// bytes. It may only return variables or throw CheckpointError; anything
// else escapes and libFuzzer reports it (an uncaught exception aborts).
#include <cstddef>
#include <cstdint>

#include "input_file.h"
#include "litetrain/checkpoint.h"
#include "litetrain/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string& path = litetrain::fuzz::WriteInputFile(data, size, ".npz");
  try {
    for (const litetrain::NamedTensor& v : litetrain::LoadCheckpoint(path)) {
      if (v.bytes.size() != static_cast<std::size_t>(v.shape.num_elements()) * litetrain::ItemSize(v.dtype)) {
        __builtin_trap();
      }
    }
  } catch (const litetrain::CheckpointError&) {
  }
  return 0;
}
