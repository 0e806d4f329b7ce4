// Baking and the compatibility check: free functions of the core.
#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/bake.h"
#include "litetrain/compatibility.h"
#include "litetrain/errors.h"
#include "litetrain/signature_roles.h"

namespace py = pybind11;

namespace litetrain::bindings {
namespace {

py::buffer_info Bytes(const py::buffer& data) {
  py::buffer_info info = data.request();
  if (info.ndim != 1 || info.itemsize != 1 || info.strides[0] != 1) {
    throw InvalidArgument("model bytes must be a contiguous bytes-like object");
  }
  return info;
}

}  // namespace

void BindBake(py::module_& m) {
  py::class_<BakeOptions>(m, "BakeOptions")
      .def(py::init<>())
      .def_readwrite("inference_only", &BakeOptions::inference_only)
      .def_readwrite("require_runtime", &BakeOptions::require_runtime)
      .def_readwrite("save_signature", &BakeOptions::save_signature)
      .def_readwrite("infer_signature", &BakeOptions::infer_signature)
      .def_readwrite("allow_nonfinite", &BakeOptions::allow_nonfinite)
      .def_readwrite("check_with", &BakeOptions::check_with);
  py::class_<BakeReport>(m, "BakeReport")
      .def_property_readonly("variables", [](const BakeReport& r) { return py::tuple(py::cast(r.variables)); })
      .def_readonly("infer_difference", &BakeReport::infer_difference);
  py::class_<OperatorUse>(m, "OperatorUse")
      .def_readonly("name", &OperatorUse::name)
      .def_readonly("builtin_code", &OperatorUse::builtin_code)
      .def_readonly("version", &OperatorUse::version)
      .def_readonly("custom", &OperatorUse::custom)
      .def_property_readonly("signatures", [](const OperatorUse& u) { return py::tuple(py::cast(u.signatures)); })
      .def("__repr__",
           [](const OperatorUse& u) { return "OperatorUse(" + u.name + " v" + std::to_string(u.version) + ")"; });
  py::class_<Incompatibility>(m, "Incompatibility")
      .def_readonly("op", &Incompatibility::op)
      .def_readonly("max_version", &Incompatibility::max_version);

  // The GIL is released only after the arguments are converted: the bake
  // works on its own copy of the weights, and the model's bytes belong to a
  // buffer (or Model) the caller keeps alive for the duration of the call.
  // Returns (the bytes, or None when written to `path`; the report).
  m.def(
      "bake",
      [](const py::object& model, const py::dict& weights, const std::string& path, const BakeOptions& options) {
        const Snapshot snapshot = FromDict(weights, "weights");
        std::vector<uint8_t> bytes;
        BakeReport report;
        if (py::isinstance<Model>(model)) {
          const Model& loaded = model.cast<const Model&>();
          py::gil_scoped_release release;
          if (path.empty()) {
            bytes = BakeModel(loaded, snapshot, options, &report);
          } else {
            BakeModelToFile(loaded, snapshot, path, options, &report);
          }
        } else {
          const py::buffer_info info = Bytes(model.cast<py::buffer>());
          py::gil_scoped_release release;
          if (path.empty()) {
            bytes = BakeModel(info.ptr, static_cast<std::size_t>(info.size), snapshot, options, &report);
          } else {
            BakeModelToFile(info.ptr, static_cast<std::size_t>(info.size), snapshot, path, options, &report);
          }
        }
        py::object data = path.empty()
                              ? py::object(py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
                              : py::object(py::none());
        return py::make_tuple(data, report);
      },
      py::arg("model"), py::arg("weights"), py::arg("path"), py::arg("options"));

  m.def(
      "list_operators",
      [](const py::buffer& model) {
        const py::buffer_info info = Bytes(model);
        py::gil_scoped_release release;
        return ListOperators(info.ptr, static_cast<std::size_t>(info.size));
      },
      py::arg("model"));

  // Returns (the problems, their description in one line).
  m.def(
      "find_incompatibilities",
      [](const py::buffer& model, const std::string& runtime) {
        const py::buffer_info info = Bytes(model);
        std::vector<Incompatibility> problems;
        {
          py::gil_scoped_release release;
          problems = FindIncompatibilities(info.ptr, static_cast<std::size_t>(info.size), runtime);
        }
        return py::make_tuple(problems, DescribeIncompatibilities(problems));
      },
      py::arg("model"), py::arg("runtime"));

  m.def("known_runtimes", &KnownRuntimes);
  m.def(
      "uninitialized_variables",
      [](const py::buffer& model) {
        const py::buffer_info info = Bytes(model);
        py::gil_scoped_release release;
        return UninitializedVariables(info.ptr, static_cast<std::size_t>(info.size));
      },
      py::arg("model"));
  m.def(
      "known_signature_names",
      [](const std::string& role) {
        if (role == "save") return RoleNames(SignatureRole::kSave);
        if (role == "restore") return RoleNames(SignatureRole::kRestore);
        throw InvalidArgument("role must be 'save' or 'restore', got '" + role + "'");
      },
      py::arg("role"));
  m.attr("INFER_TOLERANCE") = kInferTolerance;
}

}  // namespace litetrain::bindings
