#include <vector>

#include "bindings.h"
#include "litetrain/runtime.h"

namespace py = pybind11;

namespace litetrain::bindings {

void BindRuntime(py::module_& m) {
  m.def("set_default_library_path", &SetDefaultLibraryPath, py::arg("path"));
  m.def("default_library_path", &DefaultLibraryPath);
  m.def("set_log_level", [](const std::string& level) { SetLogLevel(ParseLogLevel(level)); }, py::arg("level"));
  m.def("get_log_level", [] {
    switch (GetLogLevel()) {
      case LogLevel::kVerbose: return "verbose";
      case LogLevel::kInfo: return "info";
      case LogLevel::kWarning: return "warning";
      case LogLevel::kError: return "error";
      case LogLevel::kSilent: break;
    }
    return "silent";
  });
}

DType ToDType(const py::dtype& dtype) {
  // Reads the descriptor's fields directly: no Python calls per input.
  // Data in the other byte order would be read as garbage: refuse it.
  const char order = pybind11::detail::array_descriptor_proxy(dtype.ptr())->byteorder;
  const bool native = order == '=' || order == '|' || order == (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? '<' : '>');
  if (!native) return DType::kUnsupported;
  if (dtype.kind() == 'b') return DType::kBool;
  const auto size = dtype.itemsize();
  switch (dtype.kind()) {
    case 'f':
      return size == 4   ? DType::kFloat32
             : size == 8 ? DType::kFloat64
             : size == 2 ? DType::kFloat16
                         : DType::kUnsupported;
    case 'i':
      return size == 1   ? DType::kInt8
             : size == 2 ? DType::kInt16
             : size == 4 ? DType::kInt32
             : size == 8 ? DType::kInt64
                         : DType::kUnsupported;
    case 'u':
      return size == 1   ? DType::kUInt8
             : size == 2 ? DType::kUInt16
             : size == 4 ? DType::kUInt32
             : size == 8 ? DType::kUInt64
                         : DType::kUnsupported;
    default: return DType::kUnsupported;
  }
}

py::dtype ToNumpy(DType dtype) {
  // Built once: py::dtype("float32") parses the name in Python on every call.
  // Leaked on purpose, so that no Python object outlives the interpreter's
  // finalisation in a static destructor.
  static const auto* cache = [] {
    auto* table = new std::vector<py::dtype>();
    for (int i = 0; i <= static_cast<int>(DType::kUnsupported); ++i) {
      const auto d = static_cast<DType>(i);
      table->push_back(d == DType::kUnsupported ? py::dtype("O") : py::dtype(std::string(DTypeName(d))));
    }
    return table;
  }();
  return (*cache)[static_cast<std::size_t>(dtype)];
}

}  // namespace litetrain::bindings
