#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/compatibility.h"
#include "litetrain/cpu_options.h"
#include "litetrain/model.h"
#include "litetrain/profile.h"
#include "litetrain/signature_runner.h"

namespace py = pybind11;

namespace litetrain::bindings {

void BindModel(py::module_& m) {
  py::enum_<KernelMode>(m, "KernelMode")
      .value("XNNPACK", KernelMode::kXnnpack)
      .value("BUILTIN", KernelMode::kBuiltin)
      .value("REFERENCE", KernelMode::kReference);
  m.def("kernel_mode_from_name", &KernelModeFromName, py::arg("name"));
  m.def("kernel_mode_name", &KernelModeName, py::arg("mode"));

  py::module_ flags = m.def_submodule("xnnpack_flags", "XNNPACK delegate flags (litetrain/cpu_options.h)");
  flags.attr("QS8") = xnnpack_flags::kQs8;
  flags.attr("QU8") = xnnpack_flags::kQu8;
  flags.attr("FORCE_FP16") = xnnpack_flags::kForceFp16;
  flags.attr("DYNAMIC_FULLY_CONNECTED") = xnnpack_flags::kDynamicFullyConnected;
  flags.attr("TRANSIENT_INDIRECTION_BUFFER") = xnnpack_flags::kTransientIndirectionBuffer;
  flags.attr("ENABLE_LATEST_OPERATORS") = xnnpack_flags::kEnableLatestOperators;
  flags.attr("SLOW_CONSISTENT_ARITHMETIC") = xnnpack_flags::kSlowConsistentArithmetic;
  flags.attr("KNOWN") = xnnpack_flags::kKnown;
  flags.attr("DEFAULT") = xnnpack_flags::kDefault;

  py::class_<CpuOptions>(m, "CpuOptions")
      .def(py::init<>())
      .def_readwrite("threads", &CpuOptions::threads)
      .def_readwrite("xnnpack_flags", &CpuOptions::xnnpack_flags)
      .def_readwrite("kernel_mode", &CpuOptions::kernel_mode)
      .def_readwrite("weight_cache_path", &CpuOptions::weight_cache_path)
      .def("toml", &CpuOptionsToml);

  py::class_<ModelOptions>(m, "ModelOptions")
      .def(py::init<>())
      .def_readwrite("cpu", &ModelOptions::cpu)
      .def_readwrite("profiling", &ModelOptions::profiling)
      .def_readwrite("litert_library", &ModelOptions::litert_library);

  py::class_<OperatorProfile>(m, "OperatorProfile")
      .def_readonly("index", &OperatorProfile::index)
      .def_readonly("op", &OperatorProfile::op)
      .def_readonly("in_xnnpack", &OperatorProfile::in_xnnpack)
      .def_readonly("microseconds", &OperatorProfile::microseconds)
      .def_readonly("reason", &OperatorProfile::reason);
  py::class_<XnnpackOperatorProfile>(m, "XnnpackOperatorProfile")
      .def_readonly("name", &XnnpackOperatorProfile::name)
      .def_readonly("microseconds", &XnnpackOperatorProfile::microseconds);
  py::class_<SignatureProfile>(m, "SignatureProfile")
      .def_readonly("signature", &SignatureProfile::signature)
      .def_readonly("runs", &SignatureProfile::runs)
      .def_readonly("run_microseconds", &SignatureProfile::run_microseconds)
      .def_readonly("xnnpack_microseconds", &SignatureProfile::xnnpack_microseconds)
      .def_readonly("builtin_microseconds", &SignatureProfile::builtin_microseconds)
      .def_readonly("operators", &SignatureProfile::operators)
      .def_readonly("xnnpack_operators", &SignatureProfile::xnnpack_operators)
      .def_property_readonly("operators_in_xnnpack", &SignatureProfile::operators_in_xnnpack)
      .def("describe", &DescribeProfile);

  py::class_<TensorSpec>(m, "TensorSpec", "One input or output of a signature, in the runtime's order.")
      .def_readonly("name", &TensorSpec::name)
      .def_property_readonly("dtype", [](const TensorSpec& t) { return ToNumpy(t.dtype); })
      .def_property_readonly(
          "shape", [](const TensorSpec& t) { return py::tuple(py::cast(t.shape.to_vector())); },
          "-1 marks a dynamic dimension")
      .def("__repr__", [](const TensorSpec& t) {
        return "TensorSpec('" + t.name + "', " + std::string(DTypeName(t.dtype)) + t.shape.to_string() + ")";
      });
  py::class_<SignatureSpec>(m, "SignatureSpec")
      .def_readonly("key", &SignatureSpec::key)
      .def_readonly("index", &SignatureSpec::index)
      .def_readonly("num_ops", &SignatureSpec::num_ops)
      .def_readonly("inputs", &SignatureSpec::inputs)
      .def_readonly("outputs", &SignatureSpec::outputs);

  py::class_<Model>(m, "Model")
      // Loading reads, verifies and compiles: native work, so the GIL is
      // released. The path string and the bytes buffer are owned by this
      // frame and not touched by other threads meanwhile.
      .def_static(
          "from_file",
          [](const std::string& path, const ModelOptions& options) {
            py::gil_scoped_release release;
            return Model::FromFile(path, options);
          },
          py::arg("path"), py::arg("options"))
      .def_static(
          "from_bytes",
          [](const py::buffer& data, const ModelOptions& options) {
            py::buffer_info info = data.request();
            if (info.ndim != 1 || info.itemsize != 1 || info.strides[0] != 1) {
              throw std::invalid_argument("model bytes must be a contiguous bytes-like object");
            }
            py::gil_scoped_release release;
            return Model::FromBytes(info.ptr, static_cast<std::size_t>(info.size), options);
          },
          py::arg("data"), py::arg("options"))
      .def_property_readonly("signatures", &Model::signatures, py::return_value_policy::reference_internal)
      .def("runner", &Model::runner, py::arg("key"))
      .def("file_bytes",
           [](const Model& m) { return py::bytes(static_cast<const char*>(m.file_data()), m.file_size()); })
      .def_property_readonly("uninitialized_variables",
                             [](const Model& m) { return UninitializedVariables(m.file_data(), m.file_size()); })
      .def_property_readonly("library_path", &Model::library_path)
      .def_property_readonly("threads", &Model::threads)
      .def_property_readonly("cpu_options", &Model::cpu_options)
      .def(
          "profile",
          [](const Model& m, const std::string& signature, int runs, int batch_size) {
            py::gil_scoped_release release;
            return ProfileSignature(m, signature, runs, batch_size);
          },
          py::arg("signature"), py::arg("runs"), py::arg("batch_size") = 0);
}

}  // namespace litetrain::bindings
