// The native training loop: a whole run of a model's `train` signature with
// no caller code per step, plus weight snapshots through `save` / `restore`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "litetrain/checkpoint.h"
#include "litetrain/dataset.h"
#include "litetrain/errors.h"
#include "litetrain/export.h"
#include "litetrain/model.h"
#include "litetrain/snapshot.h"
#include "litetrain/tensor.h"

namespace litetrain {

// The loss came out NaN or infinite (FitOptions::on_nonfinite == kRaise).
class LITETRAIN_API NonFiniteLoss : public Error {
 public:
  using Error::Error;
};

// Fit was called while this Trainer runs a fit (from another thread, or from
// the fit's own callback).
class LITETRAIN_API TrainerBusy : public Error {
 public:
  using Error::Error;
};

enum class OnNonFinite {
  // (With TrainerOptions::multi_step, "after the bad step" means after the
  // run of steps it was in.)
  kRaise,     // throw NonFiniteLoss (the weights are those after the bad step)
  kStop,      // stop, keep the weights after the bad step, report it
  kRollback,  // stop and restore the weights from the start of that epoch
};

struct FitProgress {
  int64_t step = 0;   // steps done, counting from FitOptions::initial_step
  int64_t epoch = 0;  // current epoch (counting from initial_epoch)
  float loss = 0.0f;  // of the last step
};

// What FitOptions::on_epoch_end is told after each completed epoch.
struct EpochLogs {
  int64_t epoch = 0;                                       // the epoch's number (counting from initial_epoch)
  int64_t steps = 0;                                       // steps done in the run, counting from initial_step
  double loss = 0.0;                                       // mean training loss over the epoch's samples
  std::vector<std::pair<std::string, double>> metrics;     // the train signature's other scalars
  std::vector<std::pair<std::string, double>> validation;  // of validation_signature, if validating
};

struct FitOptions {
  int64_t batch_size = 32;
  int64_t epochs = 1;
  // First epoch number: the shuffle order of epoch e depends on (seed, e), so
  // a run resumed from a snapshot with initial_epoch=k sees the same batches.
  int64_t initial_epoch = 0;
  // Steps already done in this run (by earlier calls): FitProgress::step and
  // the callback period count from it.
  int64_t initial_step = 0;
  bool shuffle = true;
  uint64_t seed = 0;
  // Without it, a last partial batch is trained (the model is resized).
  bool drop_remainder = false;
  OnNonFinite on_nonfinite = OnNonFinite::kRaise;
  // Called every `callback_every` steps and after each epoch (once, if the
  // epoch ends on such a step); return false to stop. Runs on the thread that
  // called Fit.
  int64_t callback_every = 0;
  std::function<bool(const FitProgress&)> callback;
  // Evaluated with `validation_signature` after each epoch (any sample count,
  // see Evaluate); checked against that signature before the first step.
  const Dataset* validation_data = nullptr;
  std::string validation_signature = "eval";
  // Called after each completed epoch (after validation), on the thread that
  // called Fit; return false to stop. It may use this Trainer (snapshots,
  // checkpoints, the learning rate; not Fit) and may throw.
  std::function<bool(const EpochLogs&)> on_epoch_end;
  // Checked before every step (or run of steps, see TrainerOptions::multi_step);
  // set it (e.g. from a signal handler) to stop after the current one,
  // leaving the model usable.
  const std::atomic<bool>* stop = nullptr;
};

struct FitResult {
  std::vector<float> losses;         // every step, in order
  std::vector<double> epoch_losses;  // of each completed epoch, the mean loss over its samples
  // The other float32 scalar outputs of the train signature (e.g. accuracy),
  // and for each completed epoch their means over its samples.
  std::vector<std::string> metric_names;
  std::vector<std::vector<double>> epoch_metrics;  // [epoch][metric]
  int64_t steps = 0;
  int64_t runs = 0;  // of the model: one per step, or per run of steps (TrainerOptions::multi_step)
  int64_t epochs_completed = 0;
  double seconds = 0.0;     // wall time of the loop
  bool stopped = false;     // by callback, stop flag or a non-finite loss
  std::string stop_reason;  // "", "callback", "stop flag", "non-finite loss ..."
};

// A model may carry the train signature's multi-step form under its name plus
// this suffix ("train_steps"): K steps per run, inputs [K, batch, ...], each
// float32 scalar output of train as [K]. litetrain.build adds one to models
// whose step is cheap; Fit runs it where K whole batches follow each other.
inline constexpr char kStepsSignatureSuffix[] = "_steps";

struct TrainerOptions {
  std::string train_signature = "train";
  // Empty: found by their known names ("save" or "parameters"; "restore").
  // A model without them trains; snapshots and checkpoints need them.
  std::string save_signature;
  std::string restore_signature;
  std::string loss_output = "loss";
  // Run `<train_signature>_steps` where it can stand for K steps of train:
  // the same arithmetic with the cost of one run per K steps. Between runs
  // the fit loop checks the stop flag and non-finite losses, so with it a
  // fit stops at most K-1 steps after the step that asked it to.
  bool multi_step = true;
};

// Calls from several threads are serialised; a Fit while another runs throws
// TrainerBusy. A Model has at most one Trainer at a time (they would share
// its variables): load the file again for an independent one.
class LITETRAIN_API Trainer {
 public:
  // Throws InvalidArgument if the model lacks the signatures or the loss
  // output named in `options`, or already has a Trainer.
  explicit Trainer(const Model& model, const TrainerOptions& options = {});
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;
  ~Trainer();

  // Trains on `data`, whose columns are matched to the train signature's
  // inputs by name. Each column's per-sample shape must fit the input's
  // shape after its first (batch) dimension. Batches are gathered from the
  // caller's memory into 64-byte aligned buffers; for large batches the next
  // one is gathered on a second thread while the current step runs.
  // Sparse class labels (an int input the graph one-hot encodes) are
  // checked against the number of classes once, before the first step.
  // Throws InvalidArgument for mismatched data or options, TrainerBusy,
  // NonFiniteLoss, RuntimeFailure.
  FitResult Fit(const Dataset& data, const FitOptions& options);

  // Loads the checkpoint at `path` and sets `options` to continue the run
  // that wrote it: initial_epoch and initial_step from its training state,
  // epochs to what is left of `total_epochs`, and its learning rate.
  // Throws CheckpointError (no training state in the file), InvalidArgument
  // (options with another seed, batch size, shuffle or drop_remainder than
  // that run: it would not see the same batches).
  void Resume(const std::string& path, int64_t total_epochs, FitOptions& options);

  // Runs `signature` (e.g. "infer") over `data` in order, `batch_size`
  // samples at a time, and concatenates each output along its first (batch)
  // dimension. A fixed-batch signature gets its last batch padded with the
  // previous samples, whose outputs are dropped.
  std::vector<NamedTensor> Predict(const Dataset& data, int64_t batch_size, const std::string& signature = "infer");
  // Runs `signature` (e.g. "eval": loss and metrics, no update) over `data`
  // in order and returns the mean of every scalar output over all samples
  // (each batch weighted by its size). A fixed-batch signature takes any
  // sample count: the samples of a short last batch are each repeated to fill
  // batches, which is exact for outputs that are means over the batch (losses
  // and metrics).
  std::vector<std::pair<std::string, double>> Evaluate(const Dataset& data, int64_t batch_size,
                                                       const std::string& signature = "eval");

  // Runs `save` and copies every output.
  Snapshot TakeSnapshot();
  // Checks names, dtypes and shapes against `restore`'s inputs first, so that
  // a snapshot of another model is refused with the trainer unchanged.
  void Restore(const Snapshot& snapshot);

  // Writes every variable to a checkpoint file (see checkpoint.h), atomically,
  // with training_state() when there is one.
  // Throws FileNotFound (no such folder), IoError, RuntimeFailure.
  void SaveCheckpoint(const std::string& path);
  // Restores a checkpoint file and returns its training state (also kept as
  // training_state(); its learning rate is set, for models that expose it). A damaged file, or one of another model
  // (other names, dtypes or shapes), throws CheckpointError and leaves the trainer as it was; a missing one
  // FileNotFound.
  std::optional<TrainingState> LoadCheckpoint(const std::string& path);

  // Where the current run stands: set by Fit after each epoch and by
  // LoadCheckpoint; empty before either.
  std::optional<TrainingState> training_state() const;

  // The learning rate, for models with get_learning_rate / set_learning_rate
  // signatures (one float32 scalar out / in): empty without the getter.
  std::optional<float> LearningRate();
  // Throws InvalidArgument: no set_learning_rate signature, or a value that
  // is not a positive finite float32.
  void SetLearningRate(double value);

  const Model& model() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace litetrain
