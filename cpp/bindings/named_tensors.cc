// Conversions between owned tensors and dicts of numpy arrays, shared by the
// trainer and checkpoint bindings.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "litetrain/errors.h"

namespace py = pybind11;

namespace litetrain::bindings {

py::dict ToDict(std::vector<NamedTensor>&& tensors) {
  py::dict out;
  for (NamedTensor& t : tensors) {
    // The array owns the tensor's bytes through a capsule: a checkpoint or
    // snapshot is not copied a second time on its way to Python.
    auto* bytes = new std::vector<uint8_t>(std::move(t.bytes));
    py::capsule owner(bytes, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
    out[py::str(t.name)] = py::array(ToNumpy(t.dtype), t.shape.to_vector(), bytes->data(), owner);
  }
  return out;
}

std::vector<NamedTensor> FromDict(const py::dict& arrays, const std::string& what) {
  std::vector<NamedTensor> tensors;
  for (const auto& item : arrays) {
    if (!py::isinstance<py::str>(item.first)) {
      throw InvalidArgument(what + " keys must be str, got " +
                            std::string(py::str(py::type::of(item.first).attr("__name__"))));
    }
    const std::string name = py::str(item.first);
    auto array = py::array::ensure(item.second);
    if (!array) throw InvalidArgument(what + " entry '" + name + "' is not an array");
    if (ToDType(array.dtype()) == DType::kUnsupported &&
        ToDType(array.dtype().attr("newbyteorder")("=")) != DType::kUnsupported) {
      array = array.attr("astype")(array.dtype().attr("newbyteorder")("="));  // other byte order
    }
    array = py::array::ensure(array, py::array::c_style);
    const DType dtype = ToDType(array.dtype());
    if (dtype == DType::kUnsupported) {
      throw InvalidArgument(what + " entry '" + name + "' has dtype " + std::string(py::str(array.dtype())) +
                            ", which litetrain does not support");
    }
    if (array.ndim() > Shape::kMaxRank) {
      throw InvalidArgument(what + " entry '" + name + "' has " + std::to_string(array.ndim()) +
                            " dimensions; litetrain supports up to " + std::to_string(Shape::kMaxRank));
    }
    int64_t dims[Shape::kMaxRank];
    for (py::ssize_t d = 0; d < array.ndim(); ++d) dims[d] = array.shape(d);
    const auto* data = static_cast<const uint8_t*>(array.data());
    tensors.push_back(NamedTensor{name, dtype, Shape(dims, static_cast<int>(array.ndim())),
                                  std::vector<uint8_t>(data, data + array.nbytes())});
  }
  return tensors;
}

}  // namespace litetrain::bindings
