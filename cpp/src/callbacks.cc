#include "litetrain/callbacks.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "litetrain/errors.h"

namespace litetrain {
namespace {

bool Holds(const std::string& name, const char* part) { return name.find(part) != std::string::npos; }

MonitorMode ResolveMode(const std::string& quantity, MonitorMode mode, const char* who) {
  if (mode != MonitorMode::kAuto) return mode;
  const std::string name = quantity.rfind("val_", 0) == 0 ? quantity.substr(4) : quantity;
  if (Holds(name, "loss") || Holds(name, "error")) return MonitorMode::kMin;
  if (Holds(name, "acc") || Holds(name, "auc") || Holds(name, "precision") || Holds(name, "recall")) {
    return MonitorMode::kMax;
  }
  throw InvalidArgument(std::string(who) + " cannot tell whether '" + quantity +
                        "' should go up or down: pass mode min or max");
}

void CheckCount(const char* what, int64_t value) {
  if (value < 0) throw InvalidArgument(std::string(what) + " must be >= 0, got " + std::to_string(value));
}

// The path for the checkpoint of `epoch` (0-based): every "{epoch}" becomes
// its 1-based number, as in Keras.
std::string CheckpointPath(const std::string& pattern, int64_t epoch) {
  static const std::string field = "{epoch}";
  std::string path;
  std::size_t from = 0;
  for (std::size_t at; (at = pattern.find(field, from)) != std::string::npos; from = at + field.size()) {
    path += pattern.substr(from, at - from) + std::to_string(epoch + 1);
  }
  return path + pattern.substr(from);
}

}  // namespace

Improvement::Improvement(std::string quantity, MonitorMode mode, double min_delta)
    : quantity_(std::move(quantity)),
      mode_(ResolveMode(quantity_, mode, "the monitor")),
      min_delta_(mode_ == MonitorMode::kMax ? std::fabs(min_delta) : -std::fabs(min_delta)) {
  if (!std::isfinite(min_delta)) throw InvalidArgument("min_delta must be finite");
}

bool Improvement::Beats(double value, std::optional<double> reference) const {
  if (!reference) return true;
  const double shifted = value - min_delta_;
  return mode_ == MonitorMode::kMax ? shifted > *reference : shifted < *reference;
}

double Improvement::Read(const EpochLogs& logs) const {
  if (quantity_ == "loss") return logs.loss;
  for (const auto& [name, value] : logs.metrics) {
    if (name == quantity_) return value;
  }
  for (const auto& [name, value] : logs.validation) {
    if ("val_" + name == quantity_) return value;
  }
  std::string known = "loss";
  for (const auto& metric : logs.metrics) known += ", " + metric.first;
  for (const auto& metric : logs.validation) known += ", val_" + metric.first;
  throw InvalidArgument("'" + quantity_ + "' is not logged at epoch ends (they log " + known +
                        "); val_ quantities need validation data");
}

PatienceRule::PatienceRule(Improvement improvement, int64_t patience, std::optional<double> baseline,
                           int64_t start_from_epoch)
    : improvement_(std::move(improvement)),
      patience_(patience),
      baseline_(baseline),
      start_from_epoch_(start_from_epoch) {
  CheckCount("patience", patience);
  CheckCount("start_from_epoch", start_from_epoch);
  Reset();
}

void PatienceRule::Reset() {
  best_.reset();  // the baseline only decides when the patience resets (as Keras)
  best_epoch_ = 0;
  wait_ = 0;
}

PatienceRule::Verdict PatienceRule::Step(int64_t epoch, double value) {
  Verdict verdict;
  if (epoch < start_from_epoch_) return verdict;
  ++wait_;
  if (improvement_.Beats(value, best_)) {
    best_ = value;
    best_epoch_ = epoch;
    verdict.improved = true;
    // With a baseline, only beating it resets the patience (as Keras).
    if (!baseline_ || improvement_.Beats(value, baseline_)) wait_ = 0;
    return verdict;
  }
  verdict.stop = wait_ >= patience_ && epoch > 0;
  return verdict;
}

PlateauRule::PlateauRule(Improvement improvement, int64_t patience, int64_t cooldown)
    : improvement_(std::move(improvement)), patience_(patience), cooldown_(cooldown) {
  CheckCount("patience", patience);
  CheckCount("cooldown", cooldown);
}

void PlateauRule::Reset() {
  best_.reset();
  wait_ = 0;
  cooldown_counter_ = 0;
}

bool PlateauRule::Step(double value) {
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (improvement_.Beats(value, best_)) {
    best_ = value;
    wait_ = 0;
    return false;
  }
  if (cooldown_counter_ > 0) return false;
  return ++wait_ >= patience_;
}

void PlateauRule::Reduced() {
  cooldown_counter_ = cooldown_;
  wait_ = 0;
}

EarlyStopping::EarlyStopping(const EarlyStoppingOptions& options)
    : options_(options),
      rule_(Improvement(options.monitor, options.mode, options.min_delta), options.patience, options.baseline,
            options.start_from_epoch) {}

void EarlyStopping::OnTrainBegin(Trainer&) {
  rule_.Reset();
  best_weights_.reset();
  stopped_epoch_ = 0;
}

bool EarlyStopping::OnEpochEnd(Trainer& trainer, const EpochLogs& logs) {
  const double value = rule_.improvement().Read(logs);
  if (options_.restore_best_weights && !best_weights_ && logs.epoch >= options_.start_from_epoch) {
    best_weights_ = trainer.TakeSnapshot();  // the first epoch counted is the best until beaten
  }
  const PatienceRule::Verdict verdict = rule_.Step(logs.epoch, value);
  if (verdict.improved && options_.restore_best_weights) best_weights_ = trainer.TakeSnapshot();
  if (verdict.stop) stopped_epoch_ = logs.epoch;
  return !verdict.stop;
}

void EarlyStopping::OnTrainEnd(Trainer& trainer) {
  if (options_.restore_best_weights && best_weights_) trainer.Restore(*best_weights_);
}

ModelCheckpoint::ModelCheckpoint(const ModelCheckpointOptions& options)
    : options_(options), best_(options.initial_value_threshold) {
  if (options.filepath.empty()) throw InvalidArgument("ModelCheckpoint needs a filepath");
  const std::string rest = CheckpointPath(options.filepath, 0);  // every {epoch} replaced
  if (rest.find('{') != std::string::npos || rest.find('}') != std::string::npos) {
    throw InvalidArgument("ModelCheckpoint's filepath '" + options.filepath +
                          "' has a field other than {epoch}, the only one the C++ callback fills");
  }
  if (options.save_best_only) improvement_.emplace(options.monitor, options.mode, 0.0);
}

bool ModelCheckpoint::OnEpochEnd(Trainer& trainer, const EpochLogs& logs) {
  if (improvement_) {
    const double value = improvement_->Read(logs);
    if (!improvement_->Beats(value, best_)) return true;
    best_ = value;
  }
  const std::string path = CheckpointPath(options_.filepath, logs.epoch);
  trainer.SaveCheckpoint(path);
  last_saved_ = path;
  return true;
}

ReduceLROnPlateau::ReduceLROnPlateau(const ReduceLROnPlateauOptions& options)
    : options_(options),
      rule_(Improvement(options.monitor, options.mode, options.min_delta), options.patience, options.cooldown) {
  if (!(options.factor > 0.0 && options.factor < 1.0)) {
    throw InvalidArgument("ReduceLROnPlateau needs 0 < factor < 1, got " + std::to_string(options.factor));
  }
  if (!(options.min_lr >= 0.0)) throw InvalidArgument("min_lr must be >= 0");
}

void ReduceLROnPlateau::OnTrainBegin(Trainer& trainer) {
  if (!trainer.LearningRate()) {
    throw InvalidArgument(
        "ReduceLROnPlateau needs a model with get_learning_rate and set_learning_rate "
        "signatures (models made by litetrain.build have them)");
  }
  rule_.Reset();
}

bool ReduceLROnPlateau::OnEpochEnd(Trainer& trainer, const EpochLogs& logs) {
  if (!rule_.Step(rule_.improvement().Read(logs))) return true;
  const std::optional<float> rate = trainer.LearningRate();
  if (rate && *rate > static_cast<float>(options_.min_lr)) {
    trainer.SetLearningRate(std::max(static_cast<double>(*rate) * options_.factor, options_.min_lr));
    rule_.Reduced();
  }
  return true;
}

FitResult FitWithCallbacks(Trainer& trainer, const Dataset& data, FitOptions options,
                           const std::vector<EpochCallback*>& callbacks) {
  for (EpochCallback* callback : callbacks) {
    if (callback == nullptr) throw InvalidArgument("FitWithCallbacks got a null callback");
  }
  for (EpochCallback* callback : callbacks) callback->OnTrainBegin(trainer);
  auto user_hook = std::move(options.on_epoch_end);
  options.on_epoch_end = [&](const EpochLogs& logs) {
    bool go_on = !user_hook || user_hook(logs);
    // Every callback sees every epoch, as in Keras, even after one says stop.
    for (EpochCallback* callback : callbacks) go_on = callback->OnEpochEnd(trainer, logs) && go_on;
    return go_on;
  };
  FitResult result = trainer.Fit(data, options);
  for (EpochCallback* callback : callbacks) callback->OnTrainEnd(trainer);
  return result;
}

}  // namespace litetrain
