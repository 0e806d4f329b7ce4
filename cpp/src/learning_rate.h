// A model's learning rate, through its optional set_learning_rate /
// get_learning_rate signatures (one float32 scalar in / out), as
// litetrain.build makes them.
#pragma once

#include <optional>

#include "litetrain/model.h"
#include "litetrain/signature_runner.h"

namespace litetrain::detail {

class LearningRate {
 public:
  // Signatures of another form are ignored: the rate then counts as fixed.
  explicit LearningRate(const Model& model);

  bool settable() const { return set_.has_value(); }
  // Empty without get_learning_rate.
  std::optional<float> Get();
  // Throws InvalidArgument: no set_learning_rate, or not a positive finite float32.
  // Returns the value as set.
  float Set(double value);

 private:
  std::optional<SignatureRunner> set_;
  std::optional<SignatureRunner> get_;
};

}  // namespace litetrain::detail
