#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/compatibility.h"
#include "litetrain/model.h"
#include "litetrain/signature_runner.h"

namespace py = pybind11;

namespace litetrain::bindings {
namespace {

py::dict TensorSpecs(const std::vector<TensorSpec>& specs) {
  py::dict out;  // insertion order = the runtime's order
  for (const auto& spec : specs) {
    out[py::str(spec.name)] =
        py::make_tuple(ToNumpy(spec.dtype), py::tuple(py::cast(spec.shape.to_vector())));
  }
  return out;
}

}  // namespace

void BindModel(py::module_& m) {
  py::class_<SignatureSpec>(m, "SignatureSpec")
      .def_readonly("key", &SignatureSpec::key)
      .def_readonly("index", &SignatureSpec::index)
      .def_readonly("num_ops", &SignatureSpec::num_ops)
      .def_property_readonly("inputs", [](const SignatureSpec& s) { return TensorSpecs(s.inputs); })
      .def_property_readonly("outputs",
                             [](const SignatureSpec& s) { return TensorSpecs(s.outputs); });

  py::class_<Model>(m, "Model")
      // Loading reads, verifies and compiles: native work, so the GIL is
      // released. The path string and the bytes buffer are owned by this
      // frame and not touched by other threads meanwhile.
      .def_static(
          "from_file",
          [](const std::string& path, int threads, const std::string& library) {
            py::gil_scoped_release release;
            return Model::FromFile(path, ModelOptions{threads, library});
          },
          py::arg("path"), py::arg("threads") = 0, py::arg("library") = "")
      .def_static(
          "from_bytes",
          [](const py::buffer& data, int threads, const std::string& library) {
            py::buffer_info info = data.request();
            if (info.ndim != 1 || info.itemsize != 1 || info.strides[0] != 1) {
              throw std::invalid_argument("model bytes must be a contiguous bytes-like object");
            }
            py::gil_scoped_release release;
            return Model::FromBytes(info.ptr, static_cast<std::size_t>(info.size),
                                    ModelOptions{threads, library});
          },
          py::arg("data"), py::arg("threads") = 0, py::arg("library") = "")
      .def_property_readonly("signatures", &Model::signatures, py::return_value_policy::reference_internal)
      .def("runner", &Model::runner, py::arg("key"))
      .def("file_bytes",
           [](const Model& m) {
             return py::bytes(static_cast<const char*>(m.file_data()), m.file_size());
           })
      .def_property_readonly("uninitialized_variables",
                             [](const Model& m) { return UninitializedVariables(m.file_data(), m.file_size()); })
      .def_property_readonly("library_path", &Model::library_path)
      .def_property_readonly("threads", &Model::threads);
}

}  // namespace litetrain::bindings
