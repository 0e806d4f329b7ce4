// One temporary file per fuzzing process that holds the current input: the
// checkpoint and .npy readers take a path, not bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace litetrain::fuzz {

// Rewrites the file with `data` and returns its path. The file lives in
// $TMPDIR (default /tmp) and is removed when the process exits.
const std::string& WriteInputFile(const uint8_t* data, std::size_t size, const char* suffix);

}  // namespace litetrain::fuzz
