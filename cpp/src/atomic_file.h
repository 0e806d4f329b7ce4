// Writing a file so that readers never see it half-written.
#pragma once

#include <cstddef>
#include <string>

namespace litetrain {

// Writes `size` bytes to `path` atomically (formats/file_io.h's
// AtomicFileWriter, the one writer of every file litetrain makes).
// Throws InvalidArgument for a folder, FileNotFound when the folder does not
// exist, IoError for any other failure (naming the path and the reason).
void WriteFileAtomically(const std::string& path, const void* data, std::size_t size);

}  // namespace litetrain
