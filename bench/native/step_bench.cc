// Step latency of Trainer::Fit (data feeding included) beside "the limit": a
// bare loop that only runs the compiled `train` signature on pre-bound
// buffers through the C API. Same model, same process, rounds interleaved so
// that both see the same machine noise.
//
// Usage: step_bench MODEL.tflite BATCH [STEPS_PER_ROUND=400] [ROUNDS=15] [THREADS=0]
// Prints one JSON object: medians over rounds of the mean step time (us).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "aligned_buffer.h"
#include "compiled_model.h"
#include "litert/library.h"
#include "litert/types.h"
#include "litetrain/litetrain.h"

using namespace litetrain;
using Clock = std::chrono::steady_clock;

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The limit: LiteRtRunCompiledModel on buffers made once, nothing else.
class BareLoop {
 public:
  BareLoop(const std::vector<uint8_t>& file, int threads, int64_t batch) {
    AlignedBuffer bytes(file.size());
    std::memcpy(bytes.data(), file.data(), file.size());
    model_ = std::make_unique<detail::CompiledModel>(std::move(bytes), ModelOptions{threads, ""});
    const auto& api = model_->api();
    for (const auto& s : model_->signatures()) if (s.key == "train") spec_ = &s;
    for (std::size_t i = 0; i < spec_->inputs.size(); ++i) {
      Shape shape = spec_->inputs[i].shape;
      if (shape[0] < 0) {
        shape[0] = batch;
        int dims[Shape::kMaxRank];
        for (int d = 0; d < shape.rank(); ++d) dims[d] = static_cast<int>(shape[d]);
        api.LiteRtCompiledModelResizeInputTensor(model_->handle(), spec_->index, i, dims, shape.rank());
      }
      memory_.emplace_back(shape.num_elements() * 4);
      std::memset(memory_.back().data(), 0, memory_.back().size());
      const auto type = litert::MakeTensorType(DType::kFloat32, shape);
      inputs_.push_back(nullptr);
      api.LiteRtCreateTensorBufferFromHostMemory(&type, memory_.back().data(), memory_.back().size(),
                                                 nullptr, &inputs_.back());
    }
    std::vector<LiteRtLayout> layouts(spec_->outputs.size());
    api.LiteRtGetCompiledModelOutputTensorLayouts(model_->handle(), spec_->index, layouts.size(),
                                                  layouts.data(), true);
    for (const auto& layout : layouts) {
      int64_t dims[Shape::kMaxRank];
      for (unsigned d = 0; d < layout.rank; ++d) dims[d] = layout.dimensions[d];
      const Shape shape(dims, static_cast<int>(layout.rank));
      memory_.emplace_back(std::max<int64_t>(shape.num_elements(), 1) * 4);
      const auto type = litert::MakeTensorType(DType::kFloat32, shape);
      outputs_.push_back(nullptr);
      api.LiteRtCreateTensorBufferFromHostMemory(&type, memory_.back().data(), memory_.back().size(),
                                                 nullptr, &outputs_.back());
    }
  }
  ~BareLoop() {
    for (auto b : inputs_) model_->api().LiteRtDestroyTensorBuffer(b);
    for (auto b : outputs_) model_->api().LiteRtDestroyTensorBuffer(b);
  }
  double Round(int steps) {
    const auto start = Clock::now();
    for (int s = 0; s < steps; ++s) {
      model_->api().LiteRtRunCompiledModel(model_->handle(), spec_->index, inputs_.size(), inputs_.data(),
                                           outputs_.size(), outputs_.data());
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / steps;
  }

 private:
  std::unique_ptr<detail::CompiledModel> model_;
  const SignatureSpec* spec_ = nullptr;
  std::vector<AlignedBuffer> memory_;
  std::vector<LiteRtTensorBuffer> inputs_, outputs_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.tflite BATCH [STEPS_PER_ROUND] [ROUNDS] [THREADS]\n", argv[0]);
    return 2;
  }
  const int64_t batch = std::atoll(argv[2]);
  const int steps = argc > 3 ? std::atoi(argv[3]) : 400;
  const int rounds = argc > 4 ? std::atoi(argv[4]) : 15;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 0;
  try {
    std::FILE* f = std::fopen(argv[1], "rb");
    if (!f) throw InvalidArgument(std::string("cannot open ") + argv[1]);
    std::vector<uint8_t> file;
    for (int c; (c = std::fgetc(f)) != EOF;) file.push_back(static_cast<uint8_t>(c));
    std::fclose(f);

    BareLoop bare(file, threads, batch);
    Trainer trainer(Model::FromBytes(file.data(), file.size(), ModelOptions{threads, ""}));
    const SignatureSpec& spec = trainer.model().signature("train");
    const int64_t n = batch * steps;
    std::mt19937 rng(0);
    std::normal_distribution<float> normal;
    std::vector<std::vector<float>> columns;
    std::vector<Dataset::Column> data;
    for (const auto& input : spec.inputs) {
      Shape shape = input.shape;
      shape[0] = n;
      columns.emplace_back(static_cast<std::size_t>(shape.num_elements()));
      for (auto& v : columns.back()) v = input.name == "y" ? 0.0f : 0.1f * normal(rng);
      if (input.name == "y") {
        for (int64_t i = 0; i < n; ++i) columns.back()[static_cast<std::size_t>(i * shape[1] + rng() % shape[1])] = 1.0f;
      }
      data.push_back({input.name, ConstTensorView{DType::kFloat32, shape, columns.back().data()}});
    }
    const Dataset dataset(std::move(data));
    FitOptions options;
    options.batch_size = batch;
    options.epochs = 1;

    bare.Round(steps / 4);  // warm-up, both
    trainer.Fit(dataset, options);
    std::vector<double> bare_us, fit_us;
    float first_loss = 0, last_loss = 0;
    for (int r = 0; r < rounds; ++r) {
      bare_us.push_back(bare.Round(steps));
      options.initial_epoch = r;
      const FitResult result = trainer.Fit(dataset, options);
      double mean = 0;
      for (float l : result.losses) mean += l;
      mean /= static_cast<double>(result.losses.size());
      if (r == 0) first_loss = static_cast<float>(mean);
      last_loss = static_cast<float>(mean);
      fit_us.push_back(result.seconds * 1e6 / static_cast<double>(result.steps));
    }
    const double bare_median = Median(bare_us), fit_median = Median(fit_us);
    std::printf(
        "{\"model\": \"%s\", \"batch\": %lld, \"threads\": %d, \"steps_per_round\": %d, \"rounds\": %d, "
        "\"bare_us\": %.3f, \"fit_us\": %.3f, \"fit_over_bare\": %.4f, \"fit_minus_bare_us\": %.3f, "
        "\"fit_mean_loss_first_round\": %.5f, \"fit_mean_loss_last_round\": %.5f, \"trained\": %s}\n",
        argv[1], static_cast<long long>(batch), threads, steps, rounds, bare_median, fit_median,
        fit_median / bare_median, fit_median - bare_median, first_loss, last_loss,
        last_loss < first_loss ? "true" : "false");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "step_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
