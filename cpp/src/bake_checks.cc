#include "bake_checks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "litetrain/compatibility.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"

namespace litetrain::detail {
namespace {

[[noreturn]] void CheckFailed(const std::string& what) {
  throw Error("the baked model failed its check: " + what + " (a litetrain bug: please report it)");
}

// Deterministic inputs for a signature: dynamic dimensions as 2, floats in
// [-1, 1), integers small (valid indices for any lookup), booleans alternating.
std::vector<std::vector<uint8_t>> ProbeInputs(const SignatureSpec& spec, std::vector<ConstTensorView>& views) {
  std::vector<std::vector<uint8_t>> storage;
  for (const TensorSpec& input : spec.inputs) {
    Shape shape = input.shape;
    for (int d = 0; d < shape.rank(); ++d) {
      if (shape[d] < 0) shape[d] = 2;
    }
    const auto n = static_cast<std::size_t>(shape.num_elements());
    std::vector<uint8_t> bytes(n * std::max<std::size_t>(ItemSize(input.dtype), 1));
    for (std::size_t i = 0; i < n; ++i) {
      const double x = static_cast<double>((i * 2654435761u) % 2048) / 1024.0 - 1.0;
      switch (input.dtype) {
        case DType::kFloat32: {
          const auto v = static_cast<float>(x);
          std::memcpy(&bytes[i * 4], &v, 4);
          break;
        }
        case DType::kFloat64: std::memcpy(&bytes[i * 8], &x, 8); break;
        case DType::kFloat16: {
          const uint16_t half = 0x3800; /* 0.5 */
          std::memcpy(&bytes[i * 2], &half, 2);
          break;
        }
        case DType::kBool: bytes[i] = static_cast<uint8_t>(i % 2); break;
        default: bytes[i * ItemSize(input.dtype)] = static_cast<uint8_t>(i % 3); break;  // little endian
      }
    }
    views.push_back(ConstTensorView{input.dtype, shape, nullptr});
    storage.push_back(std::move(bytes));
  }
  for (std::size_t i = 0; i < views.size(); ++i) views[i].data = storage[i].data();
  return storage;
}

// Largest |a - b| over the largest |b|, for float outputs of equal shape.
template <typename T>
double RelativeDifference(const ConstTensorView& a, const ConstTensorView& b) {
  const auto* x = static_cast<const T*>(a.data);
  const auto* y = static_cast<const T*>(b.data);
  const auto n = static_cast<std::size_t>(a.shape.num_elements());
  double largest = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(x[i]) - static_cast<double>(y[i]));
    if (!(d <= largest)) largest = d;  // also catches NaN
    scale = std::max(scale, std::fabs(static_cast<double>(y[i])));
  }
  if (largest == 0.0) return 0.0;
  return scale > 0.0 ? largest / scale : std::numeric_limits<double>::infinity();
}

}  // namespace

// The fresh model's `save` returns the weights, bit for bit.
void CheckSave(const Model& model, const Snapshot& weights, const std::string& key) {
  SignatureRunner save = model.runner(key);
  save.Run(nullptr, 0);
  const SignatureSpec& spec = save.spec();
  if (spec.outputs.size() != weights.size()) CheckFailed("'" + key + "' returns another number of variables");
  for (const NamedTensor& w : weights) {
    const ConstTensorView& out = save.outputs()[spec.output_index(w.name)];
    if (out.dtype != w.dtype || out.shape != w.shape || out.byte_size() != w.bytes.size() ||
        std::memcmp(out.data, w.bytes.data(), w.bytes.size()) != 0) {
      CheckFailed("'" + key + "' returns other values for '" + w.name + "' than the weights");
    }
  }
}

// The inference-only model's `infer` answers as the training form's does;
// returns the largest difference found (see BakeReport::infer_difference).
double CheckInferSame(const Model& trained, const Model& frozen, const std::string& key) {
  SignatureRunner ours = frozen.runner(key);
  SignatureRunner reference = trained.runner(key);
  std::vector<ConstTensorView> views;
  const auto storage = ProbeInputs(ours.spec(), views);
  std::vector<ConstTensorView> reference_views(views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    reference_views[reference.spec().input_index(ours.spec().inputs[i].name)] = views[i];
  }
  ours.Run(views);
  reference.Run(reference_views);
  double worst = 0.0;
  for (std::size_t o = 0; o < ours.spec().outputs.size(); ++o) {
    const std::string& name = ours.spec().outputs[o].name;
    const ConstTensorView& a = ours.outputs()[o];
    const ConstTensorView& b = reference.outputs()[reference.spec().output_index(name)];
    const std::string where = "'" + key + "' output '" + name + "'";
    if (a.dtype != b.dtype || a.shape != b.shape)
      CheckFailed(where + " has another type or shape than the training model's");
    if (std::memcmp(a.data, b.data, a.byte_size()) == 0) continue;
    double difference = std::numeric_limits<double>::infinity();  // other types must match exactly
    if (a.dtype == DType::kFloat32) difference = RelativeDifference<float>(a, b);
    if (a.dtype == DType::kFloat64) difference = RelativeDifference<double>(a, b);
    if (!(difference <= kInferTolerance)) {
      CheckFailed(where + " differs from the training model's by " + std::to_string(difference) +
                  " of its largest value (allowed: " + std::to_string(kInferTolerance) + ")");
    }
    worst = std::max(worst, difference);
  }
  return worst;
}

// Throws InvalidArgument naming what `options.require_runtime` cannot load.
// `offer` says how to get a form it can load, when there is one.
void CheckRuntime(const std::vector<uint8_t>& bytes, const BakeOptions& options, const std::string& offer) {
  const std::vector<Incompatibility> problems =
      FindIncompatibilities(bytes.data(), bytes.size(), options.require_runtime);
  if (problems.empty()) return;
  throw InvalidArgument(options.require_runtime +
                        " cannot load the baked model: " + DescribeIncompatibilities(problems) + offer);
}

// A model baked from a diverged run would deploy NaN answers without a word.
void CheckFinite(const Snapshot& weights) {
  for (const NamedTensor& w : weights) {
    if (w.dtype != DType::kFloat32) continue;
    const std::size_t count = w.bytes.size() / sizeof(float);
    for (std::size_t i = 0; i < count; ++i) {
      float value;
      std::memcpy(&value, w.bytes.data() + i * sizeof(float), sizeof value);
      if (!std::isfinite(value)) {
        throw InvalidArgument("variable '" + w.name + "' holds " + (std::isnan(value) ? "NaN" : "infinity") +
                              " (element " + std::to_string(i) +
                              "): a diverged run? Baking refuses non-finite values; pass allow_nonfinite to "
                              "keep them");
      }
    }
  }
}

}  // namespace litetrain::detail
