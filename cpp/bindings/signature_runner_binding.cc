#include <cstring>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"

namespace py = pybind11;

namespace litetrain::bindings {
namespace {

std::string Quoted(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out.empty() ? "none" : out;
}

// Names the inputs that do not match the signature; only called on a mismatch.
[[noreturn]] void ThrowNameMismatch(const SignatureSpec& spec, const py::dict& inputs) {
  std::vector<std::string> expected, unknown, missing;
  for (const auto& in : spec.inputs) expected.push_back(in.name);
  for (const auto& item : inputs) {
    const std::string name = py::str(item.first);
    bool known = false;
    for (const auto& in : spec.inputs) known |= in.name == name;
    if (!known) unknown.push_back(name);
  }
  if (!unknown.empty()) {
    throw InvalidArgument("signature '" + spec.key + "' has no input " + Quoted(unknown) +
                          "; its inputs are: " + Quoted(expected));
  }
  for (const auto& in : spec.inputs) {
    if (!inputs.contains(in.name)) missing.push_back(in.name);
  }
  throw InvalidArgument("signature '" + spec.key + "' is missing input " + Quoted(missing));
}

// A C-contiguous numpy array for `value`: the array itself when it already is
// one, else one explicit copy (lists, scalars, strided views). No dtype cast.
py::array AsContiguousArray(py::handle value) {
  if (py::isinstance<py::array>(value)) {
    auto array = py::reinterpret_borrow<py::array>(value);
    if (array.flags() & py::array::c_style) return array;
  }
  return py::array::ensure(value, py::array::c_style);
}

ConstTensorView ViewOf(const py::array& array, const TensorSpec& spec) {
  const std::string where = "input '" + spec.name + "'";
  const DType dtype = ToDType(array.dtype());
  if (dtype != spec.dtype) {
    throw InvalidArgument(where + " must be " + std::string(DTypeName(spec.dtype)) + ", got " +
                          std::string(py::str(array.dtype())) + " (convert with .astype(numpy." +
                          std::string(DTypeName(spec.dtype)) + "))");
  }
  if (array.ndim() > Shape::kMaxRank) {
    throw InvalidArgument(where + " has " + std::to_string(array.ndim()) + " dimensions; at most " +
                          std::to_string(Shape::kMaxRank) + " are supported");
  }
  int64_t dims[Shape::kMaxRank];
  for (py::ssize_t d = 0; d < array.ndim(); ++d) dims[d] = array.shape(d);
  return ConstTensorView{dtype, Shape(dims, static_cast<int>(array.ndim())), array.data()};
}

// Runs with inputs bound by name; returns a dict of new arrays.
py::dict Run(SignatureRunner& runner, const py::dict& inputs) {
  const SignatureSpec& spec = runner.spec();
  const std::size_t n = spec.inputs.size();
  if (inputs.size() != n) ThrowNameMismatch(spec, inputs);
  std::vector<py::array> arrays;  // keeps converted inputs alive during the run
  std::vector<ConstTensorView> views;
  arrays.reserve(n);
  views.reserve(n);
  for (const TensorSpec& in : spec.inputs) {
    PyObject* value = PyDict_GetItemString(inputs.ptr(), in.name.c_str());  // borrowed
    if (value == nullptr) ThrowNameMismatch(spec, inputs);
    arrays.push_back(AsContiguousArray(value));
    views.push_back(ViewOf(arrays.back(), in));
  }
  py::dict result;
  {
    // Safe: `arrays` holds a reference to every input for the whole run. The
    // outputs are copied in the reader, which runs before any other thread
    // can run this runner again, with the GIL taken back.
    py::gil_scoped_release release;
    runner.Run(views.data(), views.size(), [&](const std::vector<ConstTensorView>& outputs) {
      py::gil_scoped_acquire gil;
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        const ConstTensorView& out = outputs[o];
        py::array array(ToNumpy(out.dtype), out.shape.to_vector());
        std::memcpy(array.mutable_data(), out.data, out.byte_size());
        result[py::str(spec.outputs[o].name)] = std::move(array);
      }
    });
  }
  return result;
}

}  // namespace

void BindSignatureRunner(py::module_& m) {
  py::class_<SignatureRunner>(m, "SignatureRunner")
      .def_property_readonly("spec", &SignatureRunner::spec, py::return_value_policy::reference_internal)
      .def("run", &Run, py::arg("inputs"), "Runs with a dict of arrays by input name; returns a dict of new arrays.")
      .def("staged_bytes", &SignatureRunner::staged_bytes, py::arg("index"));
}

}  // namespace litetrain::bindings
