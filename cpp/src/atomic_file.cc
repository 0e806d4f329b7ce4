#include "atomic_file.h"

#include <sys/stat.h>

#include "formats/file_io.h"
#include "litetrain/errors.h"

namespace litetrain {

void WriteFileAtomically(const std::string& path, const void* data, std::size_t size) {
  if (path.empty()) throw InvalidArgument("the output path is empty");
  if (path.back() == '/') throw InvalidArgument("the output path '" + path + "' names a folder");
  struct stat info{};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw InvalidArgument("the output path '" + path + "' is a folder");
  }
  detail::AtomicFileWriter out(path, "model");
  out.Write(data, size);
  out.Commit();
}

}  // namespace litetrain
