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

BakeOptions Options(bool inference_only, const std::string& require_runtime, const std::string& save,
                    const std::string& infer, const std::string& library, int threads, bool allow_nonfinite) {
  BakeOptions options;
  options.allow_nonfinite = allow_nonfinite;
  options.inference_only = inference_only;
  options.require_runtime = require_runtime;
  options.save_signature = save;
  options.infer_signature = infer;
  options.check_with.litert_library = library;
  options.check_with.cpu.threads = threads;
  return options;
}

py::dict ToDict(const OperatorUse& use) {
  py::dict out;
  out["name"] = use.name;
  out["builtin_code"] = use.builtin_code;
  out["version"] = use.version;
  out["custom"] = use.custom;
  out["signatures"] = use.signatures;
  return out;
}

}  // namespace

void BindBake(py::module_& m) {
  // The GIL is released only after the arguments are converted: the bake
  // works on its own copy of the weights, and the model's bytes belong to a
  // buffer (or Model) the caller keeps alive for the duration of the call.
  m.def(
      "bake",
      [](const py::object& model, const py::dict& weights, const std::string& path, bool inference_only,
         const std::string& require_runtime, const std::string& save, const std::string& infer,
         const std::string& library, int threads, bool allow_nonfinite) {
        const Snapshot snapshot = FromDict(weights, "weights");
        const BakeOptions options =
            Options(inference_only, require_runtime, save, infer, library, threads, allow_nonfinite);
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
        py::dict out;
        out["data"] = path.empty() ? py::object(py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
                                   : py::object(py::none());
        out["variables"] = report.variables;
        out["infer_difference"] = report.infer_difference;
        return out;
      },
      py::arg("model"), py::arg("weights"), py::arg("path") = "", py::arg("inference_only") = false,
      py::arg("require_runtime") = "", py::arg("save") = "", py::arg("infer") = "infer",
      py::arg("library") = "", py::arg("threads") = 0, py::arg("allow_nonfinite") = false);

  m.def(
      "list_operators",
      [](const py::buffer& model) {
        const py::buffer_info info = Bytes(model);
        std::vector<OperatorUse> uses;
        {
          py::gil_scoped_release release;
          uses = ListOperators(info.ptr, static_cast<std::size_t>(info.size));
        }
        py::list out;
        for (const OperatorUse& use : uses) out.append(ToDict(use));
        return out;
      },
      py::arg("model"));

  m.def(
      "find_incompatibilities",
      [](const py::buffer& model, const std::string& runtime) {
        const py::buffer_info info = Bytes(model);
        std::vector<Incompatibility> problems;
        {
          py::gil_scoped_release release;
          problems = FindIncompatibilities(info.ptr, static_cast<std::size_t>(info.size), runtime);
        }
        py::list out;
        for (const Incompatibility& p : problems) {
          py::dict entry = ToDict(p.op);
          entry["max_version"] = p.max_version;
          out.append(entry);
        }
        return py::make_tuple(out, DescribeIncompatibilities(problems));
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
