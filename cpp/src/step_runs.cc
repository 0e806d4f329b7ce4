#include "step_runs.h"

#include "litetrain/errors.h"
#include "litetrain/trainer.h"
#include "signature_data.h"

namespace litetrain::detail {

std::optional<StepRuns> StepRuns::Find(const Model& model, const SignatureSpec& train) {
  const std::string key = train.key + kStepsSignatureSuffix;
  const SignatureSpec* spec = FindSignature(model, key);
  if (spec == nullptr) return std::nullopt;
  const auto refuse = [&](const std::string& why) {
    return InvalidArgument("signature '" + key + "' is not K steps of '" + train.key + "': " + why +
                           "; rename it, or train one step per run (TrainerOptions::multi_step = false, Python: "
                           "Trainer(..., multi_step=False))");
  };
  if (FixedBatch(train) < 1) throw refuse("'" + train.key + "' has no fixed batch size");
  if (spec->inputs.size() != train.inputs.size()) throw refuse("it takes other inputs");
  int64_t steps = -1;
  std::vector<std::size_t> train_input;
  for (const TensorSpec& input : spec->inputs) {
    std::size_t t;
    try {
      t = train.input_index(input.name);
    } catch (const InvalidArgument&) {
      throw refuse("its input '" + input.name + "' is not one of '" + train.key + "'");
    }
    const TensorSpec& one = train.inputs[t];
    bool fits = input.dtype == one.dtype && input.shape.rank() == one.shape.rank() + 1 && input.shape[0] > 0;
    for (int d = 0; fits && d < one.shape.rank(); ++d) fits = input.shape[d + 1] == one.shape[d];
    if (!fits || (steps > 0 && input.shape[0] != steps)) {
      throw refuse("input '" + input.name + "' is " + std::string(DTypeName(input.dtype)) + input.shape.to_string() +
                   ", not [K] + " + std::string(DTypeName(one.dtype)) + one.shape.to_string());
    }
    steps = input.shape[0];
    train_input.push_back(t);
  }
  std::vector<int64_t> outputs(train.outputs.size(), -1);
  for (std::size_t o = 0; o < spec->outputs.size(); ++o) {
    const TensorSpec& output = spec->outputs[o];
    std::size_t t;
    try {
      t = train.output_index(output.name);
    } catch (const InvalidArgument&) {
      continue;  // an output train lacks: not read
    }
    const TensorSpec& one = train.outputs[t];
    if (one.dtype != DType::kFloat32 || one.shape.num_elements() != 1) continue;  // not a per-step scalar
    if (output.dtype != DType::kFloat32 || output.shape.num_elements() != steps || output.shape.rank() < 1 ||
        output.shape[0] != steps) {
      throw refuse("output '" + output.name + "' is " + std::string(DTypeName(output.dtype)) +
                   output.shape.to_string() + ", not float32[" + std::to_string(steps) + "]");
    }
    outputs[t] = static_cast<int64_t>(o);
  }
  for (std::size_t t = 0; t < train.outputs.size(); ++t) {
    const TensorSpec& one = train.outputs[t];
    if (one.dtype == DType::kFloat32 && one.shape.num_elements() == 1 && outputs[t] < 0) {
      throw refuse("it lacks output '" + one.name + "'");
    }
  }
  return StepRuns(model.runner(key), steps, std::move(train_input), std::move(outputs));
}

StepRuns::StepRuns(SignatureRunner runner, int64_t steps, std::vector<std::size_t> train_input,
                   std::vector<int64_t> output_of_train_output)
    : runner_(std::move(runner)),
      steps_(steps),
      train_input_(std::move(train_input)),
      output_of_train_output_(std::move(output_of_train_output)),
      views_(runner_.spec().inputs.size()) {}

std::vector<std::size_t> StepRuns::Columns(const std::vector<std::size_t>& train_columns) const {
  std::vector<std::size_t> columns;
  for (std::size_t t : train_input_) columns.push_back(train_columns[t]);
  return columns;
}

void StepRuns::Run(const std::vector<ConstTensorView>& gathered) {
  for (std::size_t i = 0; i < gathered.size(); ++i) {
    views_[i] = ConstTensorView{gathered[i].dtype, runner_.spec().inputs[i].shape, gathered[i].data};
  }
  runner_.Run(views_);
}

float StepRuns::Output(std::size_t train_output, int64_t k) const {
  const ConstTensorView& out = runner_.outputs()[static_cast<std::size_t>(output_of_train_output_.at(train_output))];
  return static_cast<const float*>(out.data)[k];
}

}  // namespace litetrain::detail
