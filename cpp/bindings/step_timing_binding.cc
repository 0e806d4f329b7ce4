#include <string>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bench/step_timing.h"
#include "bindings.h"

namespace py = pybind11;

namespace litetrain::bindings {

void BindStepTiming(py::module_& m) {
  py::class_<StepTiming>(m, "StepTiming", "One system's result under the timing protocol (bench/step_timing.h).")
      .def_readonly("median_us", &StepTiming::median_us, "median over rounds of the mean step time")
      .def_readonly("min_us", &StepTiming::min_us, "fastest round")
      .def_readonly("max_us", &StepTiming::max_us, "slowest round")
      .def_readonly("steps_per_round", &StepTiming::steps_per_round)
      .def_readonly("round_us", &StepTiming::round_us, "mean step time of each round, in run order")
      .def("__repr__", [](const StepTiming& t) {
        return "StepTiming(median_us=" + std::to_string(t.median_us) +
               ", steps_per_round=" + std::to_string(t.steps_per_round) +
               ", rounds=" + std::to_string(t.round_us.size()) + ")";
      });
  // The GIL stays held: the runners are Python callables (pybind11 takes the
  // GIL for each call anyway), and the protocol's own work is negligible.
  m.def(
      "time_interleaved",
      [](const std::vector<StepRunner>& runners, int rounds, double round_seconds, double warmup_seconds,
         double settle_seconds, int64_t max_steps_per_round) {
        TimingProtocol protocol;
        protocol.rounds = rounds;
        protocol.round_seconds = round_seconds;
        protocol.warmup_seconds = warmup_seconds;
        protocol.settle_seconds = settle_seconds;
        protocol.max_steps_per_round = max_steps_per_round;
        return TimeInterleaved(runners, protocol);
      },
      py::arg("runners"), py::kw_only(), py::arg("rounds") = TimingProtocol{}.rounds,
      py::arg("round_seconds") = TimingProtocol{}.round_seconds,
      py::arg("warmup_seconds") = TimingProtocol{}.warmup_seconds,
      py::arg("settle_seconds") = TimingProtocol{}.settle_seconds,
      py::arg("max_steps_per_round") = TimingProtocol{}.max_steps_per_round);
  m.def("median", &Median, py::arg("values"));
}

}  // namespace litetrain::bindings
