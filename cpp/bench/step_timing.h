// The timing protocol every litetrain benchmark uses, in C++ (bench/native)
// and from Python (litetrain.bench): one implementation, so that numbers
// from either side compare.
//
// Each system under test is a function that runs a given number of steps and
// returns the seconds they took, timed by the system itself around its own
// loop. For each system in turn: one step untimed (first-call costs:
// tracing, lazy allocation), then calibration (10x more steps per call until
// a call lasts a tenth of a round) to estimate the steps per round, then
// warm-up rounds for `warmup_seconds`, each re-estimating it. Then `rounds` timed rounds, the systems
// interleaved within each round, so that every system sees the same drift of
// machine load. A system's result is the median over rounds of the round's
// mean step time.
//
// A system leaves threads behind that spin for a while after its last step
// (ONNX Runtime's and TensorFlow's pools, XNNPACK's): on a two-core machine
// they take a core from whoever runs next. So each round runs the systems in
// another order (round 0 as given, then shuffled by a fixed seed), so that no
// system always follows the same one, and the protocol pauses for
// `settle_seconds` between two systems' calls, long enough for such threads
// to go to sleep.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace litetrain {

struct TimingProtocol {
  int rounds = 7;               // timed rounds per system (odd: the median is one round)
  double round_seconds = 0.25;  // target length of one round of one system
  double warmup_seconds = 0.25;
  double settle_seconds = 0.02;  // pause before each timed call (see above)
  int64_t max_steps_per_round = 10'000'000;
};

struct StepTiming {
  double median_us = 0;  // median over rounds of the mean step time
  double min_us = 0;     // fastest round
  double max_us = 0;     // slowest round
  int64_t steps_per_round = 0;
  std::vector<double> round_us;  // mean step time of each round, in run order
};

// Runs `steps` steps of one system; returns their wall time in seconds.
using StepRunner = std::function<double(int64_t steps)>;

// Times every runner by the protocol above; results in the runners' order.
// Throws InvalidArgument for rounds < 1 or non-positive durations, and lets
// a runner's exception through.
std::vector<StepTiming> TimeInterleaved(const std::vector<StepRunner>& runners, const TimingProtocol& protocol = {});

// The median of `values` (the mean of the middle two for an even count).
// Throws InvalidArgument when empty.
double Median(std::vector<double> values);

}  // namespace litetrain
