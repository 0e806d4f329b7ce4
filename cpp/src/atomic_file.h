// Writing a file so that readers never see it half-written.
#pragma once

#include <cstddef>
#include <string>

namespace litetrain {

// Writes `size` bytes to `path` atomically: a temporary file in the same
// folder, flushed to disk (fsync), renamed over `path`, then the folder
// flushed so that the rename survives a power cut. On failure the temporary
// file is removed and `path` is unchanged.
// Throws FileNotFound when the folder does not exist, Error for any other
// failure (naming the path and the system's reason).
void WriteFileAtomically(const std::string& path, const void* data, std::size_t size);

}  // namespace litetrain
