// A C++ host that trains a model with litetrain, with no Python in the
// process: reads training data from .npy files, trains a few epochs printing
// the loss of each, evaluates, takes a snapshot, trains on and restores it
// (checking that the weights came back), and saves a checkpoint that
// Python's litetrain.load_checkpoint (or numpy.load) reads.
//
//   train_host MODEL.tflite X.npy Y.npy CHECKPOINT.npz [--epochs N]
//              [--batch-size N] [--seed N] [--threads N]
//              [--test-x X.npy --test-y Y.npy] [--litert libLiteRt.so]
//
// The model needs the signatures train(x, y), eval(x, y), save() and
// restore(...) (what litetrain.build and tools/make_test_models.py make).
// libLiteRt.so comes from --litert, $LITETRAIN_LITERT_LIB, or the loader's
// search path.
#include <litetrain/litetrain.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string model, x, y, checkpoint, test_x, test_y, litert;
  int64_t epochs = 5;
  int64_t batch_size = 32;
  uint64_t seed = 0;
  int threads = 1;
};

[[noreturn]] void Usage(const std::string& problem) {
  std::fprintf(stderr,
               "%s\nusage: train_host MODEL.tflite X.npy Y.npy CHECKPOINT.npz [--epochs N] "
               "[--batch-size N] [--seed N] [--threads N] [--test-x X.npy --test-y Y.npy] "
               "[--litert libLiteRt.so]\n",
               problem.c_str());
  std::exit(2);
}

int64_t Number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 0) Usage(flag + " needs a non-negative integer, got '" + text + "'");
  return value;
}

Args Parse(int argc, char** argv) {
  Args args;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    if (i + 1 == argc) Usage(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--epochs") args.epochs = Number(arg, value);
    else if (arg == "--batch-size") args.batch_size = Number(arg, value);
    else if (arg == "--seed") args.seed = static_cast<uint64_t>(Number(arg, value));
    else if (arg == "--threads") args.threads = static_cast<int>(Number(arg, value));
    else if (arg == "--test-x") args.test_x = value;
    else if (arg == "--test-y") args.test_y = value;
    else if (arg == "--litert") args.litert = value;
    else Usage("unknown option " + arg);
  }
  if (positional.size() != 4) Usage("expected 4 paths, got " + std::to_string(positional.size()));
  if (args.test_x.empty() != args.test_y.empty()) Usage("--test-x and --test-y go together");
  args.model = positional[0];
  args.x = positional[1];
  args.y = positional[2];
  args.checkpoint = positional[3];
  return args;
}

// "loss 0.1234 accuracy 0.95" from named means; full precision so that a
// reader can compare them exactly.
std::string Describe(const std::vector<std::pair<std::string, double>>& values) {
  std::string text;
  char number[32];
  for (const auto& [name, value] : values) {
    std::snprintf(number, sizeof number, "%.17g", value);
    text += (text.empty() ? "" : " ") + name + " " + number;
  }
  return text;
}

bool SameBytes(const litetrain::Snapshot& a, const litetrain::Snapshot& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].shape != b[i].shape || a[i].bytes != b[i].bytes) return false;
  }
  return true;
}

int Run(const Args& args) {
  if (!args.litert.empty()) litetrain::SetDefaultLibraryPath(args.litert);
  litetrain::ModelOptions model_options;
  model_options.cpu.threads = args.threads;
  const litetrain::Model model = litetrain::Model::FromFile(args.model, model_options);
  std::printf("model: %s (LiteRT: %s)\n", args.model.c_str(), model.library_path().c_str());

  // The arrays stay in memory for the whole run: a Dataset only views them.
  const litetrain::NamedTensor x = litetrain::ReadNpy(args.x);
  const litetrain::NamedTensor y = litetrain::ReadNpy(args.y);
  const litetrain::Dataset train_data({{"x", x.view()}, {"y", y.view()}});
  std::printf("data: %lld samples, x %s%s, y %s%s\n", static_cast<long long>(train_data.size()),
              std::string(litetrain::DTypeName(x.dtype)).c_str(), x.shape.to_string().c_str(),
              std::string(litetrain::DTypeName(y.dtype)).c_str(), y.shape.to_string().c_str());
  litetrain::NamedTensor test_x, test_y;
  if (!args.test_x.empty()) {
    test_x = litetrain::ReadNpy(args.test_x);
    test_y = litetrain::ReadNpy(args.test_y);
  }
  const litetrain::Dataset eval_data =
      args.test_x.empty() ? train_data : litetrain::Dataset({{"x", test_x.view()}, {"y", test_y.view()}});

  litetrain::Trainer trainer(model);
  litetrain::FitOptions fit;
  fit.batch_size = args.batch_size;
  fit.seed = args.seed;
  fit.epochs = 1;  // one call per epoch, to print as it goes
  for (int64_t epoch = 0; epoch < args.epochs; ++epoch) {
    fit.initial_epoch = epoch;
    const litetrain::FitResult result = trainer.Fit(train_data, fit);
    fit.initial_step += result.steps;
    std::vector<std::pair<std::string, double>> means{{"loss", result.epoch_losses.at(0)}};
    for (std::size_t m = 0; m < result.metric_names.size(); ++m) {
      means.emplace_back(result.metric_names[m], result.epoch_metrics.at(0).at(m));
    }
    std::printf("epoch %lld/%lld: %s (%lld steps, %.0f steps/s)\n", static_cast<long long>(epoch + 1),
                static_cast<long long>(args.epochs), Describe(means).c_str(), static_cast<long long>(result.steps),
                static_cast<double>(result.steps) / result.seconds);
  }
  const auto evaluated = trainer.Evaluate(eval_data, args.batch_size);
  std::printf("evaluate (%s data): %s\n", args.test_x.empty() ? "training" : "test", Describe(evaluated).c_str());

  // Snapshot, train on, restore: the weights and the evaluation come back.
  const litetrain::Snapshot snapshot = trainer.TakeSnapshot();
  std::size_t bytes = 0;
  for (const auto& variable : snapshot) bytes += variable.bytes.size();
  fit.initial_epoch = args.epochs;
  const litetrain::FitResult extra = trainer.Fit(train_data, fit);
  const bool changed = !SameBytes(trainer.TakeSnapshot(), snapshot);
  trainer.Restore(snapshot);
  const bool restored =
      SameBytes(trainer.TakeSnapshot(), snapshot) && trainer.Evaluate(eval_data, args.batch_size) == evaluated;
  std::printf("snapshot: %zu variables, %zu bytes; one more epoch (loss %.17g) %s them; restore: %s\n", snapshot.size(),
              bytes, extra.epoch_losses.at(0), changed ? "changed" : "did NOT change",
              restored ? "weights and evaluation equal the snapshot's" : "MISMATCH");
  if (!changed || !restored) return 1;

  trainer.SaveCheckpoint(args.checkpoint);
  const bool read_back = SameBytes(litetrain::LoadCheckpoint(args.checkpoint), snapshot);
  std::printf("checkpoint: %s (%zu variables), read back and verified: %s\n", args.checkpoint.c_str(), snapshot.size(),
              read_back ? "yes" : "NO");
  return read_back ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  try {
    return Run(args);
  } catch (const std::exception& e) {
    // litetrain's exceptions name the file, input or call that failed.
    std::fprintf(stderr, "train_host: %s\n", e.what());
    return 1;
  }
}
