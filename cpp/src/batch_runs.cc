#include "batch_runs.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "batch_feeder.h"
#include "litetrain/errors.h"
#include "signature_data.h"

namespace litetrain::detail {
namespace {

using Sums = std::vector<std::pair<std::string, double>>;

// Runs `runner` over `data` in order and calls visit(first_sample, count,
// fed) after each batch: `count` real samples, `fed` run (more when a
// fixed-batch signature's short last batch was padded).
void ForEachBatch(SignatureRunner& runner, const Dataset& data, int64_t batch,
                  const std::function<void(int64_t, int64_t, int64_t)>& visit) {
  const SignatureSpec& spec = runner.spec();
  if (batch < 1) throw InvalidArgument("batch_size must be >= 1, got " + std::to_string(batch));
  const int64_t n = data.size();
  if (n == 0) throw InvalidArgument("no samples");
  const int64_t fixed = FixedBatch(spec);
  if (fixed >= 0 && fixed != batch) {
    throw InvalidArgument("signature '" + spec.key + "' has a fixed batch of " + std::to_string(fixed) +
                          "; pass batch_size=" + std::to_string(fixed));
  }
  const int64_t capacity = fixed >= 0 ? fixed : std::min(batch, n);
  BatchFeeder feeder(data, MatchColumns(data, spec), capacity);
  std::vector<int64_t> rows(static_cast<std::size_t>(capacity));
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min(batch, n - first);
    // The real samples come first; the padding repeats samples from the start.
    const int64_t fed = fixed >= 0 ? fixed : count;
    for (int64_t i = 0; i < fed; ++i) rows[static_cast<std::size_t>(i)] = (first + i) % n;
    feeder.Start(0, rows.data(), fed);
    feeder.Wait();
    runner.Run(feeder.Views(0, fed));
    visit(first, count, fed);
  }
}

// Group sizes k <= batch that divide it, summing to `count`.
std::vector<int64_t> RepeatGroups(int64_t count, int64_t batch) {
  std::vector<int64_t> groups;
  while (count > 0) {
    int64_t k = std::min(count, batch);
    while (batch % k != 0) --k;
    groups.push_back(k);
    count -= k;
  }
  return groups;
}

// The float32 scalar outputs of `spec`, each with a sum of 0.
Sums ScalarSums(const SignatureSpec& spec) {
  Sums sums;
  for (const TensorSpec& out : spec.outputs) {
    if (out.shape.num_elements() == 1 && out.dtype == DType::kFloat32) sums.emplace_back(out.name, 0.0);
  }
  if (sums.empty()) {
    throw InvalidArgument("signature '" + spec.key + "' has no float32 scalar output to average");
  }
  return sums;
}

}  // namespace

void CheckHasScalarOutputs(const SignatureSpec& spec) { ScalarSums(spec); }

std::vector<NamedTensor> PredictAll(SignatureRunner& runner, const Dataset& data, int64_t batch) {
  const std::string& key = runner.spec().key;
  std::vector<NamedTensor> results;
  ForEachBatch(runner, data, batch, [&](int64_t first, int64_t count, int64_t fed) {
    const auto& outputs = runner.outputs();
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      if (outputs[o].shape.rank() == 0 || outputs[o].shape[0] != fed) {
        throw InvalidArgument("output '" + runner.spec().outputs[o].name + "' of signature '" + key + "' has shape " +
                              outputs[o].shape.to_string() +
                              ", not the batch first; predict concatenates per-sample outputs");
      }
    }
    if (results.empty()) {
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        Shape shape = outputs[o].shape;
        shape[0] = data.size();
        results.push_back(NamedTensor{
            runner.spec().outputs[o].name, outputs[o].dtype, shape,
            std::vector<uint8_t>(static_cast<std::size_t>(shape.num_elements()) * ItemSize(outputs[o].dtype))});
      }
    }
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      const std::size_t row = results[o].bytes.size() / static_cast<std::size_t>(data.size());
      if (outputs[o].byte_size() != row * static_cast<std::size_t>(fed)) {
        throw InvalidArgument("output '" + runner.spec().outputs[o].name + "' of signature '" + key +
                              "' changed its per-sample shape between batches");
      }
      std::memcpy(results[o].bytes.data() + static_cast<std::size_t>(first) * row, outputs[o].data,
                  static_cast<std::size_t>(count) * row);
    }
  });
  return results;
}

std::vector<std::pair<std::string, double>> EvaluateMeans(SignatureRunner& runner, const Dataset& data, int64_t batch) {
  const SignatureSpec& spec = runner.spec();
  Sums sums = ScalarSums(spec);
  std::vector<std::size_t> outputs;
  for (const auto& entry : sums) outputs.push_back(spec.output_index(entry.first));
  const auto add = [&](int64_t samples) {
    for (std::size_t o = 0; o < sums.size(); ++o) {
      sums[o].second += static_cast<double>(*static_cast<const float*>(runner.outputs()[outputs[o]].data)) *
                        static_cast<double>(samples);
    }
  };
  const int64_t n = data.size();
  if (n == 0) throw InvalidArgument("no samples");
  const int64_t fixed = FixedBatch(spec);
  // Whole batches as they come; a fixed batch's remainder as repeated groups.
  const int64_t whole = fixed < 0 ? n : n - n % fixed;
  if (whole > 0)
    ForEachBatch(runner, data.Slice(0, whole), batch, [&](int64_t, int64_t count, int64_t) { add(count); });
  if (whole < n) {
    if (batch != fixed) {
      throw InvalidArgument("signature '" + spec.key + "' has a fixed batch of " + std::to_string(fixed) +
                            "; pass batch_size=" + std::to_string(fixed));
    }
    BatchFeeder feeder(data, MatchColumns(data, spec), fixed);
    std::vector<int64_t> rows(static_cast<std::size_t>(fixed));
    int64_t first = whole;
    for (int64_t k : RepeatGroups(n - whole, fixed)) {
      for (int64_t i = 0; i < fixed; ++i) rows[static_cast<std::size_t>(i)] = first + i % k;
      feeder.Start(0, rows.data(), fixed);
      feeder.Wait();
      runner.Run(feeder.Views(0, fixed));
      add(k);
      first += k;
    }
  }
  for (auto& entry : sums) entry.second /= static_cast<double>(n);
  return sums;
}

}  // namespace litetrain::detail
