// The decision rules of the epoch-end callbacks (cpp/src/callbacks.cc):
// Python's litetrain.callbacks calls these, so C++ hosts and Python decide
// when a value improved, when to stop and when to reduce the rate alike.
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/callbacks.h"

namespace py = pybind11;

namespace litetrain::bindings {
namespace {

MonitorMode ParseMode(const std::string& mode) {
  if (mode == "auto") return MonitorMode::kAuto;
  if (mode == "min") return MonitorMode::kMin;
  if (mode == "max") return MonitorMode::kMax;
  throw InvalidArgument("mode must be 'auto', 'min' or 'max', got '" + mode + "'");
}

}  // namespace

void BindCallbacks(py::module_& m) {
  py::class_<Improvement>(m, "Improvement")
      .def(py::init([](const std::string& quantity, const std::string& mode, double min_delta) {
             return Improvement(quantity, ParseMode(mode), min_delta);
           }),
           py::arg("quantity"), py::arg("mode"), py::arg("min_delta"))
      .def_property_readonly("quantity", &Improvement::quantity)
      .def_property_readonly("mode", [](const Improvement& i) { return i.mode() == MonitorMode::kMax ? "max" : "min"; })
      .def("beats", &Improvement::Beats, py::arg("value"), py::arg("reference"));

  py::class_<PatienceRule::Verdict>(m, "PatienceVerdict")
      .def_readonly("improved", &PatienceRule::Verdict::improved)
      .def_readonly("stop", &PatienceRule::Verdict::stop);
  py::class_<PatienceRule>(m, "PatienceRule")
      .def(py::init<Improvement, int64_t, std::optional<double>, int64_t>(), py::arg("improvement"),
           py::arg("patience"), py::arg("baseline"), py::arg("start_from_epoch"))
      .def("reset", &PatienceRule::Reset)
      .def("step", &PatienceRule::Step, py::arg("epoch"), py::arg("value"))
      .def_property_readonly("best", &PatienceRule::best)
      .def_property_readonly("best_epoch", &PatienceRule::best_epoch)
      .def_property_readonly("wait", &PatienceRule::wait);

  py::class_<PlateauRule>(m, "PlateauRule")
      .def(py::init<Improvement, int64_t, int64_t>(), py::arg("improvement"), py::arg("patience"), py::arg("cooldown"))
      .def("reset", &PlateauRule::Reset)
      .def("step", &PlateauRule::Step, py::arg("value"))
      .def("reduced", &PlateauRule::Reduced)
      .def_property_readonly("best", &PlateauRule::best)
      .def_property_readonly("wait", &PlateauRule::wait)
      .def_property_readonly("cooldown_counter", &PlateauRule::cooldown_counter);
}

}  // namespace litetrain::bindings
