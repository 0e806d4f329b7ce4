#include "learning_rate.h"

#include <cmath>
#include <limits>
#include <string>

#include "litetrain/errors.h"
#include "signature_data.h"

namespace litetrain::detail {
namespace {

bool IsFloatScalar(const TensorSpec& t) { return t.dtype == DType::kFloat32 && t.shape.num_elements() == 1; }

}  // namespace

LearningRate::LearningRate(const Model& model) {
  if (const SignatureSpec* set = FindSignature(model, "set_learning_rate")) {
    if (set->inputs.size() == 1 && IsFloatScalar(set->inputs[0])) set_.emplace(model.runner("set_learning_rate"));
  }
  if (const SignatureSpec* get = FindSignature(model, "get_learning_rate")) {
    if (get->inputs.empty() && get->outputs.size() == 1 && IsFloatScalar(get->outputs[0])) {
      get_.emplace(model.runner("get_learning_rate"));
    }
  }
}

std::optional<float> LearningRate::Get() {
  if (!get_) return std::nullopt;
  get_->Run(nullptr, 0);
  return *static_cast<const float*>(get_->outputs()[0].data);
}

float LearningRate::Set(double value) {
  if (!set_) {
    throw InvalidArgument(
        "the model has no 'set_learning_rate' signature taking one float32 scalar: its "
        "learning rate is fixed in the graph (models built by litetrain.build expose it)");
  }
  if (!std::isfinite(value) || value <= 0.0 || value > std::numeric_limits<float>::max() ||
      static_cast<float>(value) <= 0.0f) {
    throw InvalidArgument(
        "the learning rate must be a positive finite float32 (at most 3.4e38, at least "
        "1.4e-45), got " +
        std::to_string(value));
  }
  const float rate = static_cast<float>(value);
  const ConstTensorView view{DType::kFloat32, set_->spec().inputs[0].shape, &rate};
  set_->Run(&view, 1);
  return rate;
}

}  // namespace litetrain::detail
