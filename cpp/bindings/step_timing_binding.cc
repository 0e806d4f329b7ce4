#include <vector>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/step_timing.h"

namespace py = pybind11;

namespace litetrain::bindings {

void BindStepTiming(py::module_& m) {
  // The GIL stays held: the runners are Python callables (pybind11 takes the
  // GIL for each call anyway), and the protocol's own work is negligible.
  m.def(
      "time_interleaved",
      [](const std::vector<StepRunner>& runners, int rounds, double round_seconds, double warmup_seconds,
         int64_t max_steps_per_round) {
        TimingProtocol protocol;
        protocol.rounds = rounds;
        protocol.round_seconds = round_seconds;
        protocol.warmup_seconds = warmup_seconds;
        protocol.max_steps_per_round = max_steps_per_round;
        py::list out;
        for (const StepTiming& t : TimeInterleaved(runners, protocol)) {
          py::dict d;
          d["median_us"] = t.median_us;
          d["min_us"] = t.min_us;
          d["max_us"] = t.max_us;
          d["steps_per_round"] = t.steps_per_round;
          d["round_us"] = t.round_us;
          out.append(std::move(d));
        }
        return out;
      },
      py::arg("runners"), py::arg("rounds") = TimingProtocol{}.rounds,
      py::arg("round_seconds") = TimingProtocol{}.round_seconds,
      py::arg("warmup_seconds") = TimingProtocol{}.warmup_seconds,
      py::arg("max_steps_per_round") = TimingProtocol{}.max_steps_per_round);
  m.def("median", &Median, py::arg("values"));
}

}  // namespace litetrain::bindings
