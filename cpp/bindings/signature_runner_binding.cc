#include <cstring>

#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"

namespace py = pybind11;

namespace litetrain::bindings {
namespace {

// A view of a numpy array, refused unless it is C-contiguous and of a type we
// know; the Python layer makes strided arrays contiguous (one explicit copy).
ConstTensorView ViewOf(const py::array& array, const TensorSpec& spec) {
  const std::string where = "input '" + spec.name + "'";
  if (!(array.flags() & py::array::c_style)) {
    throw InvalidArgument(where + " must be C-contiguous (use numpy.ascontiguousarray)");
  }
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
  ConstTensorView view;
  view.dtype = dtype;
  int64_t dims[Shape::kMaxRank];
  for (py::ssize_t d = 0; d < array.ndim(); ++d) dims[d] = array.shape(d);
  view.shape = Shape(dims, static_cast<int>(array.ndim()));
  view.data = array.data();
  return view;
}

py::dict Run(SignatureRunner& runner, const std::vector<py::array>& arrays) {
  const SignatureSpec& spec = runner.spec();
  if (arrays.size() != spec.inputs.size()) {
    throw InvalidArgument("signature '" + spec.key + "' takes " +
                          std::to_string(spec.inputs.size()) + " inputs, got " +
                          std::to_string(arrays.size()));
  }
  std::vector<ConstTensorView> views;
  views.reserve(arrays.size());
  for (std::size_t i = 0; i < arrays.size(); ++i) views.push_back(ViewOf(arrays[i], spec.inputs[i]));
  {
    // Safe: `arrays` keeps every input alive, and the runner's outputs are
    // only read back below, with the GIL held again.
    py::gil_scoped_release release;
    runner.Run(views);
  }
  py::dict result;
  const auto& outputs = runner.outputs();
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    const ConstTensorView& out = outputs[o];
    py::array array(ToNumpy(out.dtype), out.shape.to_vector());
    std::memcpy(array.mutable_data(), out.data, out.byte_size());
    result[py::str(spec.outputs[o].name)] = std::move(array);
  }
  return result;
}

}  // namespace

void BindSignatureRunner(py::module_& m) {
  py::class_<SignatureRunner>(m, "SignatureRunner")
      .def_property_readonly("spec", &SignatureRunner::spec, py::return_value_policy::reference_internal)
      .def("run", &Run, py::arg("inputs"),
           "Runs with one array per input, in spec.inputs order; returns a dict of copies.")
      .def("staged_bytes", &SignatureRunner::staged_bytes, py::arg("index"));
}

}  // namespace litetrain::bindings
