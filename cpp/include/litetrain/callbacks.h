// Epoch-end callbacks for Trainer::Fit, with the names and rules of Keras'
// callbacks: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau.
//
//   litetrain::EarlyStopping stop({.monitor = "val_loss", .patience = 3, .restore_best_weights = true});
//   litetrain::ModelCheckpoint best({.filepath = "best.npz", .save_best_only = true});
//   FitResult result = litetrain::FitWithCallbacks(trainer, data, options, {&stop, &best});
//
// A quantity is named as Keras logs it: "loss", a train-signature metric
// ("accuracy"), or "val_" + an output of the validation signature.
//
// The rules (when a value improves, when patience runs out) are the
// Improvement, PatienceRule and PlateauRule classes, which the Python
// callbacks use too: one implementation of each decision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "litetrain/export.h"
#include "litetrain/snapshot.h"
#include "litetrain/trainer.h"

namespace litetrain {

enum class MonitorMode { kAuto, kMin, kMax };

// Whether a monitored value improved on the best one so far.
class LITETRAIN_API Improvement {
 public:
  // kAuto picks kMin for names holding "loss" or "error", kMax for "acc",
  // "auc", "precision", "recall"; otherwise throws InvalidArgument asking for
  // a mode. As Keras, a value improves when it beats the best by more than
  // |min_delta|.
  Improvement(std::string quantity, MonitorMode mode, double min_delta);

  const std::string& quantity() const { return quantity_; }
  MonitorMode mode() const { return mode_; }  // kMin or kMax, never kAuto
  // Beats `reference` (no reference: always).
  bool Beats(double value, std::optional<double> reference) const;
  // The quantity's value in `logs`; InvalidArgument naming what is logged
  // when it is not there.
  double Read(const EpochLogs& logs) const;

 private:
  std::string quantity_;
  MonitorMode mode_;
  double min_delta_;  // signed: added to the reference in the direction of improvement
};

// EarlyStopping's rule: stop once the value has not improved for
// `patience` epochs (counting from `start_from_epoch`; with a baseline, until
// the value beats it).
class LITETRAIN_API PatienceRule {
 public:
  struct Verdict {
    bool improved = false;  // a new best: a best-weights snapshot is due
    bool stop = false;
  };
  PatienceRule(Improvement improvement, int64_t patience, std::optional<double> baseline, int64_t start_from_epoch);
  void Reset();
  Verdict Step(int64_t epoch, double value);

  std::optional<double> best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }
  int64_t wait() const { return wait_; }
  const Improvement& improvement() const { return improvement_; }

 private:
  Improvement improvement_;
  int64_t patience_;
  std::optional<double> baseline_;
  int64_t start_from_epoch_;
  std::optional<double> best_;
  int64_t best_epoch_ = 0;
  int64_t wait_ = 0;
};

// ReduceLROnPlateau's rule: reduce after `patience` epochs without
// improvement, then wait `cooldown` epochs before counting again.
class LITETRAIN_API PlateauRule {
 public:
  PlateauRule(Improvement improvement, int64_t patience, int64_t cooldown);
  void Reset();
  // True when the rate should be reduced now (the caller then calls Reduced).
  bool Step(double value);
  void Reduced();

  std::optional<double> best() const { return best_; }
  int64_t wait() const { return wait_; }
  int64_t cooldown_counter() const { return cooldown_counter_; }
  const Improvement& improvement() const { return improvement_; }

 private:
  Improvement improvement_;
  int64_t patience_;
  int64_t cooldown_;
  std::optional<double> best_;
  int64_t wait_ = 0;
  int64_t cooldown_counter_ = 0;
};

// A callback of FitWithCallbacks. OnEpochEnd returns false to stop.
class LITETRAIN_API EpochCallback {
 public:
  virtual ~EpochCallback() = default;
  virtual void OnTrainBegin(Trainer&) {}
  virtual bool OnEpochEnd(Trainer& trainer, const EpochLogs& logs) = 0;
  virtual void OnTrainEnd(Trainer&) {}
};

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  int64_t patience = 0;
  MonitorMode mode = MonitorMode::kAuto;
  std::optional<double> baseline;
  // Keeps a snapshot of the best epoch's weights and restores it at the end.
  bool restore_best_weights = false;
  int64_t start_from_epoch = 0;
};

class LITETRAIN_API EarlyStopping : public EpochCallback {
 public:
  explicit EarlyStopping(const EarlyStoppingOptions& options);
  void OnTrainBegin(Trainer& trainer) override;
  bool OnEpochEnd(Trainer& trainer, const EpochLogs& logs) override;
  void OnTrainEnd(Trainer& trainer) override;

  // The epoch that stopped training (0: it did not).
  int64_t stopped_epoch() const { return stopped_epoch_; }
  int64_t best_epoch() const { return rule_.best_epoch(); }
  std::optional<double> best() const { return rule_.best(); }

 private:
  EarlyStoppingOptions options_;
  PatienceRule rule_;
  std::optional<Snapshot> best_weights_;
  int64_t stopped_epoch_ = 0;
};

struct ModelCheckpointOptions {
  // "{epoch}" is replaced by the epoch's number counting from 1 (as Keras);
  // other fields ("{val_loss:.2f}", Python's) are refused.
  std::string filepath;
  std::string monitor = "val_loss";
  bool save_best_only = false;
  MonitorMode mode = MonitorMode::kAuto;
  std::optional<double> initial_value_threshold;
};

// Writes a checkpoint (Trainer::SaveCheckpoint: atomic, with the run's
// state, so it resumes the run) after each epoch, or after each improvement.
// As Keras, the best value so far outlives a fit: a resumed run keeps it.
class LITETRAIN_API ModelCheckpoint : public EpochCallback {
 public:
  explicit ModelCheckpoint(const ModelCheckpointOptions& options);
  bool OnEpochEnd(Trainer& trainer, const EpochLogs& logs) override;
  // The last file written; empty before any.
  const std::string& last_saved() const { return last_saved_; }

 private:
  ModelCheckpointOptions options_;
  std::optional<Improvement> improvement_;  // with save_best_only
  std::optional<double> best_;
  std::string last_saved_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;  // in (0, 1)
  int64_t patience = 10;
  MonitorMode mode = MonitorMode::kAuto;
  double min_delta = 1e-4;
  int64_t cooldown = 0;
  double min_lr = 0.0;
};

// Needs a model with get_learning_rate / set_learning_rate signatures.
class LITETRAIN_API ReduceLROnPlateau : public EpochCallback {
 public:
  explicit ReduceLROnPlateau(const ReduceLROnPlateauOptions& options);
  void OnTrainBegin(Trainer& trainer) override;
  bool OnEpochEnd(Trainer& trainer, const EpochLogs& logs) override;

 private:
  ReduceLROnPlateauOptions options_;
  PlateauRule rule_;
};

// Trainer::Fit with `callbacks` at its epoch ends (after options.on_epoch_end,
// if set): OnTrainBegin before the first step, OnTrainEnd after the last
// epoch, also when a callback stopped the run (not when Fit throws).
LITETRAIN_API FitResult FitWithCallbacks(Trainer& trainer, const Dataset& data, FitOptions options,
                                         const std::vector<EpochCallback*>& callbacks);

}  // namespace litetrain
