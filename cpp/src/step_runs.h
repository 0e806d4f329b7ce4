// Several training steps per run: the `<train>_steps` signature that
// litetrain.build adds to models whose step is cheap. It takes K consecutive
// batches ([K, batch, ...] inputs) and returns each step's scalars ([K]
// outputs), with the arithmetic of K runs of `train`. LiteRT's cost per run
// (the invoke, XNNPACK's set-up of its graph) is then paid once per K steps,
// which for small models is most of a step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "litetrain/model.h"
#include "litetrain/signature_runner.h"
#include "litetrain/tensor.h"

namespace litetrain::detail {

class StepRuns {
 public:
  // The multi-step form of the signature `train` if `model` has one (named
  // `train.key + kStepsSignatureSuffix`), else nullopt. Throws
  // InvalidArgument for a signature of that name whose inputs or outputs are
  // not `train`'s with a leading dimension of K.
  static std::optional<StepRuns> Find(const Model& model, const SignatureSpec& train);

  int64_t steps_per_run() const { return steps_; }

  // The dataset column feeding each of this signature's inputs, given the
  // columns feeding `train`'s inputs.
  std::vector<std::size_t> Columns(const std::vector<std::size_t>& train_columns) const;

  // Runs K steps on `gathered`: one view per input of this signature holding
  // K * batch samples, steps one after the other (as a BatchFeeder gathers them).
  void Run(const std::vector<ConstTensorView>& gathered);

  // Float32 scalar output `train_output` of `train` (an index into its
  // outputs) at step `k` of the last run.
  float Output(std::size_t train_output, int64_t k) const;

 private:
  StepRuns(SignatureRunner runner, int64_t steps, std::vector<std::size_t> train_input,
           std::vector<int64_t> output_of_train_output);

  SignatureRunner runner_;
  int64_t steps_;
  std::vector<std::size_t> train_input_;         // for each input here, the train input it batches
  std::vector<int64_t> output_of_train_output_;  // for each train output, the output here (-1: none)
  std::vector<ConstTensorView> views_;           // Run's inputs reshaped to [K, batch, ...]
};

}  // namespace litetrain::detail
