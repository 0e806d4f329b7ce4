// Checkpoint files: Python's litetrain.checkpoint calls these, so C++ hosts
// and Python share one implementation (cpp/src/checkpoint.cc).
#include <string>

#include "bindings.h"
#include "litetrain/checkpoint.h"

namespace py = pybind11;

namespace litetrain::bindings {

void BindCheckpoint(py::module_& m) {
  m.def(
      "write_checkpoint",
      [](const std::string& path, const py::dict& variables) {
        const Snapshot snapshot = FromDict(variables, "checkpoint");
        py::gil_scoped_release release;  // `snapshot` is our own copy
        WriteCheckpoint(path, snapshot);
      },
      py::arg("path"), py::arg("variables"));
  m.def(
      "load_checkpoint",
      [](const std::string& path) {
        Snapshot variables;
        {
          py::gil_scoped_release release;
          variables = LoadCheckpoint(path);
        }
        return ToDict(std::move(variables));
      },
      py::arg("path"));
}

}  // namespace litetrain::bindings
