#include "litetrain/npy.h"

#include <string>

#include "formats/file_io.h"
#include "formats/npy_format.h"
#include "formats/npy_io.h"
#include "litetrain/errors.h"

namespace litetrain {

NamedTensor ReadNpy(const std::string& path) {
  detail::InputFile file(path, ".npy file");
  try {
    return detail::ReadNpyAt(file, 0, file.size());
  } catch (const FileFormatError& e) {
    throw FileFormatError("'" + path + "' is not a .npy file litetrain can read: " + e.what());
  }
}

void WriteNpy(const std::string& path, const ConstTensorView& tensor) {
  if (tensor.dtype == DType::kUnsupported) throw InvalidArgument("cannot write '" + path + "': unsupported dtype");
  if (tensor.shape.has_dynamic_dims()) {
    throw InvalidArgument("cannot write '" + path + "': shape " + tensor.shape.to_string() +
                          " has a dynamic dimension");
  }
  if (tensor.data == nullptr && tensor.byte_size() != 0) {
    throw InvalidArgument("cannot write '" + path + "': the tensor has no data");
  }
  const std::string header = detail::EncodeNpyHeader(tensor.dtype, tensor.shape);
  detail::AtomicFileWriter out(path, ".npy file");
  out.Write(header.data(), header.size());
  out.Write(tensor.data, tensor.byte_size());
  out.Commit();
}

}  // namespace litetrain
