// Step latency of Trainer::Fit (data feeding included) beside "the limit": a
// BareStepLoop that only copies each step's batch into inputs bound once and
// runs the compiled `train` signature (or `train_steps` on K batches a run,
// as Fit does). No Python anywhere: the tool for a board or a C++ host. Same
// model file, same process, timed by the same protocol as `litetrain bench`
// (cpp/bench/step_timing.h: calibration, warm-up, interleaved rounds, median).
//
// Usage: step_bench MODEL.tflite BATCH [ROUNDS=7] [ROUND_SECONDS=0.25] [THREADS=0]
// The model's `train` signature must take `x` (samples first) and one-hot `y`.
// Prints one JSON object: medians (us per step), their ratio, and whether the
// timed rounds trained (the loss of the last round below that of the first).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/bare_step_loop.h"
#include "bench/step_timing.h"
#include "litetrain/litetrain.h"

using namespace litetrain;

namespace {

constexpr int64_t kDistinctBatches = 64;

std::vector<uint8_t> ReadFile(const char* path) {
  std::FILE* f = std::fopen(path, "rb");
  if (!f) throw InvalidArgument(std::string("cannot open ") + path);
  std::vector<uint8_t> bytes;
  for (int c; (c = std::fgetc(f)) != EOF;) bytes.push_back(static_cast<uint8_t>(c));
  std::fclose(f);
  return bytes;
}

// Samples whose class is the largest of their first `classes` features: a
// rule a model can learn, so that the loss falls.
struct Data {
  Shape x_shape, y_shape;
  std::vector<float> x, y;
};

Data MakeData(const SignatureSpec& spec, int64_t n) {
  Data data;
  data.x_shape = spec.inputs[spec.input_index("x")].shape;
  data.y_shape = spec.inputs[spec.input_index("y")].shape;
  data.x_shape[0] = data.y_shape[0] = n;
  const int64_t features = data.x_shape.num_elements() / n;
  const int64_t classes = data.y_shape.num_elements() / n;
  data.x.resize(static_cast<std::size_t>(data.x_shape.num_elements()));
  data.y.assign(static_cast<std::size_t>(data.y_shape.num_elements()), 0.0f);
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  for (auto& v : data.x) v = normal(rng);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = &data.x[static_cast<std::size_t>(i * features)];
    int64_t best = 0;
    for (int64_t c = 1; c < classes && c < features; ++c) best = row[c] > row[best] ? c : best;
    data.y[static_cast<std::size_t>(i * classes + best)] = 1.0f;
  }
  return data;
}

Dataset Prefix(const Data& data, int64_t samples) {
  Shape x = data.x_shape, y = data.y_shape;
  x[0] = y[0] = samples;
  return Dataset({{"x", {DType::kFloat32, x, data.x.data()}}, {"y", {DType::kFloat32, y, data.y.data()}}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.tflite BATCH [ROUNDS] [ROUND_SECONDS] [THREADS]\n", argv[0]);
    return 2;
  }
  const int64_t batch = std::atoll(argv[2]);
  TimingProtocol protocol;
  if (argc > 3) protocol.rounds = std::atoi(argv[3]);
  if (argc > 4) protocol.round_seconds = protocol.warmup_seconds = std::atof(argv[4]);
  const int threads = argc > 5 ? std::atoi(argv[5]) : 0;
  try {
    const std::vector<uint8_t> file = ReadFile(argv[1]);
    ModelOptions options;
    options.cpu.threads = threads;
    // Two instances of the model: each system trains its own weights.
    const Model bare_model = Model::FromBytes(file.data(), file.size(), options);
    Trainer trainer(Model::FromBytes(file.data(), file.size(), options));
    // A model with train_steps (K steps per run, which Fit runs) is timed
    // through it: K batches per run, a run counting as K steps.
    const std::string steps_key = std::string("train") + kStepsSignatureSuffix;
    const SignatureSpec* steps_spec = nullptr;
    for (const SignatureSpec& spec : bare_model.signatures()) {
      if (spec.key == steps_key) steps_spec = &spec;
    }
    const int64_t per_run = steps_spec != nullptr ? steps_spec->inputs[0].shape[0] : 1;
    const Data data = MakeData(bare_model.signature("train"), batch * std::max(kDistinctBatches, per_run));

    const Dataset all = Prefix(data, batch * kDistinctBatches);
    // The limit's data: as many whole runs of K distinct batches as fit in
    // Fit's kDistinctBatches (at least one run).
    const int64_t limit_runs = std::max<int64_t>(kDistinctBatches / per_run, 1);
    const Dataset limit_data = Prefix(data, batch * per_run * limit_runs);
    std::vector<Dataset::Column> runs;  // the same memory as [runs * K, batch, ...]
    for (const Dataset::Column& column : limit_data.columns()) {
      Shape shape = column.data.shape;
      std::vector<int64_t> dims{per_run * limit_runs, batch};
      for (int d = 1; d < shape.rank(); ++d) dims.push_back(shape[d]);
      runs.push_back(
          {column.name, {column.data.dtype, Shape(dims.data(), static_cast<int>(dims.size())), column.data.data}});
    }
    BareStepLoop bare = steps_spec != nullptr ? BareStepLoop(bare_model, steps_key, Dataset(runs), per_run)
                                              : BareStepLoop(bare_model, "train", limit_data, batch);
    std::vector<double> bare_losses, fit_losses;  // after each call, in call order
    int64_t epoch = 0;

    const std::vector<StepRunner> runners = {
        [&](int64_t steps) {
          const int64_t calls = (steps + per_run - 1) / per_run;
          const double seconds = bare.Run(calls) * static_cast<double>(steps) / static_cast<double>(calls * per_run);
          bare_losses.push_back(*static_cast<const float*>(bare.output("loss").data));
          return seconds;
        },
        [&](int64_t steps) {
          // `steps` steps: whole epochs over the distinct batches, then a prefix.
          FitOptions fit;
          fit.batch_size = batch;
          fit.shuffle = false;
          double seconds = 0, loss_sum = 0;
          auto run = [&](const Dataset& d, int64_t epochs) {
            fit.epochs = epochs;
            fit.initial_epoch = epoch;
            epoch += epochs;
            const FitResult r = trainer.Fit(d, fit);
            seconds += r.seconds;
            for (float l : r.losses) loss_sum += l;
          };
          if (steps / kDistinctBatches > 0) run(all, steps / kDistinctBatches);
          if (steps % kDistinctBatches > 0) run(Prefix(data, batch * (steps % kDistinctBatches)), 1);
          fit_losses.push_back(loss_sum / static_cast<double>(steps));
          return seconds;
        },
    };
    const std::vector<StepTiming> t = TimeInterleaved(runners, protocol);
    const std::size_t first = bare_losses.size() - static_cast<std::size_t>(protocol.rounds);
    const std::size_t fit_first = fit_losses.size() - static_cast<std::size_t>(protocol.rounds);
    const bool bare_trained = bare_losses.back() < bare_losses[first];
    const bool fit_trained = fit_losses.back() < fit_losses[fit_first];
    std::printf(
        "{\"model\": \"%s\", \"batch\": %lld, \"threads\": %d, \"rounds\": %d, "
        "\"limit_us\": %.3f, \"fit_us\": %.3f, \"fit_over_limit\": %.4f, "
        "\"limit_steps_per_round\": %lld, \"fit_steps_per_round\": %lld, "
        "\"limit_trained\": %s, \"fit_trained\": %s}\n",
        argv[1], static_cast<long long>(batch), threads, protocol.rounds, t[0].median_us, t[1].median_us,
        t[1].median_us / t[0].median_us, static_cast<long long>(t[0].steps_per_round),
        static_cast<long long>(t[1].steps_per_round), bare_trained ? "true" : "false", fit_trained ? "true" : "false");
    return bare_trained && fit_trained ? 0 : 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "step_bench: %s\n", e.what());
    return 1;
  }
}
