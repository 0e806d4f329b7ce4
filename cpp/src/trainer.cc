#include "litetrain/trainer.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "batch_feeder.h"
#include "batch_runs.h"
#include "label_classes.h"
#include "learning_rate.h"
#include "litetrain/checkpoint.h"
#include "litetrain/signature_roles.h"
#include "litetrain/signature_runner.h"
#include "model_claims.h"
#include "signature_data.h"
#include "step_runs.h"
#include "weight_names.h"

namespace litetrain {
namespace {

using detail::FindSignature;
using detail::FixedBatch;
using detail::MatchColumns;

void CheckOptions(const FitOptions& o) {
  if (o.batch_size < 1) throw InvalidArgument("batch_size must be >= 1, got " + std::to_string(o.batch_size));
  if (o.epochs < 0) throw InvalidArgument("epochs must be >= 0, got " + std::to_string(o.epochs));
  if (o.initial_epoch < 0) {
    throw InvalidArgument("initial_epoch must be >= 0, got " + std::to_string(o.initial_epoch));
  }
  if (o.callback_every < 0) {
    throw InvalidArgument("callback_every must be >= 0, got " + std::to_string(o.callback_every));
  }
}

}  // namespace

class Trainer::Impl {
 public:
  Impl(const Model& model, const TrainerOptions& options)
      : model_(model),
        train_(model.runner(options.train_signature)),
        save_(RoleRunner(model, options.save_signature, SignatureRole::kSave)),
        restore_(RoleRunner(model, options.restore_signature, SignatureRole::kRestore)),
        loss_index_(train_.spec().output_index(options.loss_output)),
        learning_rate_(model) {
    if (options.multi_step) step_runs_ = detail::StepRuns::Find(model, train_.spec());
    const auto& outputs = train_.spec().outputs;
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      if (o != loss_index_ && outputs[o].dtype == DType::kFloat32 && outputs[o].shape.num_elements() == 1) {
        metric_indices_.push_back(o);
      }
    }
    const TensorSpec& loss = train_.spec().outputs[loss_index_];
    if (loss.dtype != DType::kFloat32 || loss.shape.num_elements() != 1) {
      throw InvalidArgument("output '" + loss.name + "' of signature '" + train_.spec().key +
                            "' must be a float32 scalar to serve as the loss, it is " +
                            std::string(DTypeName(loss.dtype)) + loss.shape.to_string());
    }
  }

  ~Impl() { detail::ReleaseFromTrainer(model_.file_data()); }

  const Model& model() const { return model_; }
  std::recursive_mutex& mutex() { return mutex_; }
  std::atomic<bool>& fitting() { return fitting_; }
  const std::optional<TrainingState>& training_state() const { return state_; }

  FitResult Fit(const Dataset& data, const FitOptions& options) {
    CheckOptions(options);
    const SignatureSpec& spec = train_.spec();
    std::vector<std::size_t> columns = MatchColumns(data, spec);
    const int64_t n = data.size();
    const int64_t batch = options.batch_size;
    const int64_t fixed = FixedBatch(spec);
    if (fixed >= 0 && fixed != batch) {
      throw InvalidArgument("signature '" + spec.key + "' has a fixed batch of " + std::to_string(fixed) +
                            "; fit needs batch_size=" + std::to_string(fixed));
    }
    const int64_t remainder = n % batch;
    if (fixed >= 0 && remainder != 0 && !options.drop_remainder) {
      throw InvalidArgument(std::to_string(n) + " samples leave a last batch of " + std::to_string(remainder) +
                            ", which signature '" + spec.key + "' (fixed batch " + std::to_string(fixed) +
                            ") cannot take: pass drop_remainder=true or use a model with a "
                            "dynamic batch dimension");
    }
    const int64_t steps_per_epoch = options.drop_remainder ? n / batch : (n + batch - 1) / batch;
    if (steps_per_epoch == 0 && options.epochs > 0) {
      throw InvalidArgument(std::to_string(n) + " samples make no batch of " + std::to_string(batch) +
                            (options.drop_remainder ? " (drop_remainder is set)" : ""));
    }
    CheckLabels(data, spec, "training array");
    // Everything validation needs is checked now, not after an epoch has
    // changed the weights.
    std::optional<SignatureRunner> validator;
    if (options.validation_data != nullptr) {
      const SignatureSpec* eval = FindSignature(model_, options.validation_signature);
      if (eval == nullptr) {
        throw InvalidArgument("validation needs signature '" + options.validation_signature +
                              "' (loss and metrics without an update), which the model lacks");
      }
      if (options.validation_data->size() == 0) throw InvalidArgument("the validation data has no samples");
      MatchColumns(*options.validation_data, *eval);
      CheckLabels(*options.validation_data, *eval, "validation array");
      detail::CheckHasScalarOutputs(*eval);
      validator.emplace(model_.runner(options.validation_signature));
    }

    FitResult result;
    nonfinite_stop_ = false;
    // Reserved up front: a long fit's memory stays flat while it runs (what
    // grows per epoch is one small vector of metric means).
    result.losses.reserve(static_cast<std::size_t>(steps_per_epoch * options.epochs));
    result.epoch_losses.reserve(static_cast<std::size_t>(options.epochs));
    result.epoch_metrics.reserve(static_cast<std::size_t>(options.epochs));
    for (std::size_t m : metric_indices_) result.metric_names.push_back(spec.outputs[m].name);
    // Runs of K steps gather K whole batches at a time (the fixed batch, see
    // above). With a helper thread gathering (large batches) a run's own
    // cost is not worth saving.
    std::vector<std::size_t> run_columns = step_runs_ ? step_runs_->Columns(columns) : std::vector<std::size_t>{};
    BatchFeeder feeder(data, std::move(columns), std::min(batch, n));
    std::optional<BatchFeeder> run_feeder;
    if (step_runs_ && !feeder.prefetching()) {
      run_feeder.emplace(data, std::move(run_columns), step_runs_->steps_per_run() * batch);
    }
    TrainingState state;
    state.epochs_done = options.initial_epoch;
    state.steps_done = options.initial_step;
    state.seed = options.seed;
    state.batch_size = batch;
    state.shuffle = options.shuffle;
    state.drop_remainder = options.drop_remainder;
    const auto started = std::chrono::steady_clock::now();
    for (int64_t e = 0; e < options.epochs && !result.stopped; ++e) {
      const int64_t epoch = options.initial_epoch + e;
      const std::vector<int64_t> order = EpochOrder(n, options.seed, epoch, options.shuffle);
      Snapshot epoch_start;
      if (options.on_nonfinite == OnNonFinite::kRollback) epoch_start = TakeSnapshot();
      const std::size_t epoch_first = result.losses.size();
      EpochTotals totals(metric_indices_.size());
      RunEpoch(feeder, run_feeder ? &*run_feeder : nullptr, order, steps_per_epoch, batch, epoch, options, epoch_start,
               totals, result);
      const std::size_t epoch_steps = result.losses.size() - epoch_first;
      // An epoch counts when all its steps ran, unless a non-finite loss
      // ended it (its weights are bad, or rolled back to its start).
      if (!result.stopped || (epoch_steps == static_cast<std::size_t>(steps_per_epoch) && !nonfinite_stop_)) {
        const double samples = static_cast<double>(std::max<int64_t>(totals.samples, 1));
        result.epoch_losses.push_back(totals.loss / samples);
        std::vector<double> means;
        for (double sum : totals.metrics) means.push_back(sum / samples);
        ++result.epochs_completed;
        const int64_t run_step = options.initial_step + result.steps;
        state.epochs_done = epoch + 1;
        state.steps_done = run_step;
        state.learning_rate = learning_rate_.Get();
        state_ = state;
        // After each epoch, unless the periodic call just came at its last step.
        const bool just_called = options.callback_every > 0 && run_step % options.callback_every == 0;
        if (!result.stopped && options.callback && !just_called &&
            !options.callback(FitProgress{run_step, epoch, result.losses.back()})) {
          Stop(result, "callback");
        }
        if (!result.stopped && options.on_epoch_end) {
          EpochLogs logs{epoch, run_step, result.epoch_losses.back(), {}, {}};
          for (std::size_t m = 0; m < means.size(); ++m) logs.metrics.emplace_back(result.metric_names[m], means[m]);
          if (validator) logs.validation = detail::EvaluateMeans(*validator, *options.validation_data, batch);
          if (!options.on_epoch_end(logs)) Stop(result, "callback");
        }
        result.epoch_metrics.push_back(std::move(means));
      }
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  }

  std::vector<std::pair<std::string, double>> Evaluate(const Dataset& data, int64_t batch, const std::string& key) {
    SignatureRunner runner = model_.runner(key);
    CheckLabels(data, runner.spec(), "array");
    return detail::EvaluateMeans(runner, data, batch);
  }

  std::vector<NamedTensor> Predict(const Dataset& data, int64_t batch, const std::string& key) {
    SignatureRunner runner = model_.runner(key);
    return detail::PredictAll(runner, data, batch);
  }

  std::optional<float> LearningRate() { return learning_rate_.Get(); }

  void SetLearningRate(double value) {
    const float rate = learning_rate_.Set(value);
    if (state_) state_->learning_rate = rate;
  }

  // Resume: the state a checkpoint holds, checked against `options`.
  void Resume(const std::string& path, int64_t total_epochs, FitOptions& options) {
    if (total_epochs < 0) throw InvalidArgument("epochs must be >= 0, got " + std::to_string(total_epochs));
    Checkpoint checkpoint = LoadCheckpointWithState(path);
    if (!checkpoint.training) {
      throw CheckpointError("checkpoint '" + path +
                            "' holds weights but no training state (it was not written during a fit, or by an "
                            "older litetrain): load it and pass initial_epoch yourself to continue");
    }
    const TrainingState& t = *checkpoint.training;
    const auto differs = [&](const std::string& what, const std::string& theirs, const std::string& ours) {
      return InvalidArgument("checkpoint '" + path + "' was written by a run with " + what + " " + theirs +
                             ", this one has " + ours + ", so it would not see the batches that run would: pass " +
                             what + "=" + theirs + " to resume it");
    };
    if (t.seed != options.seed) throw differs("seed", std::to_string(t.seed), std::to_string(options.seed));
    if (t.batch_size != options.batch_size) {
      throw differs("batch_size", std::to_string(t.batch_size), std::to_string(options.batch_size));
    }
    if (t.shuffle != options.shuffle)
      throw differs("shuffle", t.shuffle ? "true" : "false", options.shuffle ? "true" : "false");
    if (t.drop_remainder != options.drop_remainder) {
      throw differs("drop_remainder", t.drop_remainder ? "true" : "false", options.drop_remainder ? "true" : "false");
    }
    CheckCheckpoint(path, checkpoint.variables);
    Restore(checkpoint.variables);
    state_ = t;
    RestoreLearningRate();
    options.initial_epoch = t.epochs_done;
    options.initial_step = t.steps_done;
    options.epochs = std::max<int64_t>(total_epochs - t.epochs_done, 0);
  }

  void SetState(std::optional<TrainingState> state) { state_ = std::move(state); }

  // The learning rate is a variable the save signature may not hold: a run's
  // state carries it.
  void RestoreLearningRate() {
    if (state_ && state_->learning_rate && learning_rate_.settable()) SetLearningRate(*state_->learning_rate);
  }

  Snapshot TakeSnapshot() {
    SignatureRunner& save = Save();
    save.Run(nullptr, 0);
    Snapshot snapshot;
    const auto& outputs = save.outputs();
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      const auto* bytes = static_cast<const uint8_t*>(outputs[o].data);
      snapshot.push_back(NamedTensor{save.spec().outputs[o].name, outputs[o].dtype, outputs[o].shape,
                                     std::vector<uint8_t>(bytes, bytes + outputs[o].byte_size())});
    }
    return snapshot;
  }

  // Refuses a checkpoint of another model with CheckpointError, in the
  // words of Python's first implementation.
  void CheckCheckpoint(const std::string& path, const Snapshot& variables) const {
    const std::vector<TensorSpec>& expected = RestoreSpec().inputs;
    std::set<std::string> theirs, ours;
    for (const NamedTensor& v : variables) theirs.insert(v.name);
    for (const TensorSpec& input : expected) ours.insert(input.name);
    std::string missing, extra;
    for (const std::string& name : ours) {
      if (!theirs.count(name)) missing += (missing.empty() ? "'" : ", '") + name + "'";
    }
    for (const std::string& name : theirs) {
      if (!ours.count(name)) extra += (extra.empty() ? "'" : ", '") + name + "'";
    }
    const std::string where = "checkpoint '" + path + "' is of another model: ";
    if (!missing.empty() || !extra.empty()) {
      throw CheckpointError(where + (missing.empty() ? "" : "it lacks [" + missing + "]") +
                            (!missing.empty() && !extra.empty() ? "; " : "") +
                            (extra.empty() ? "" : "it has [" + extra + "], which this model does not") +
                            KerasSuffixHint(ours, theirs));
    }
    for (const NamedTensor& v : variables) {
      const TensorSpec& input = expected[RestoreSpec().input_index(v.name)];
      if (v.dtype != input.dtype || v.shape != input.shape) {
        throw CheckpointError(where + "variable '" + v.name + "' is " + std::string(DTypeName(v.dtype)) +
                              v.shape.to_string() + " there, " + std::string(DTypeName(input.dtype)) +
                              input.shape.to_string() + " here");
      }
    }
  }

  void Restore(const Snapshot& snapshot) {
    SignatureRunner& restore = Restorer();
    const SignatureSpec& spec = restore.spec();
    std::vector<ConstTensorView> views(spec.inputs.size());
    std::vector<bool> seen(spec.inputs.size(), false);
    for (const NamedTensor& tensor : snapshot) {
      std::size_t i;
      try {
        i = spec.input_index(tensor.name);
      } catch (const InvalidArgument&) {
        std::set<std::string> ours, theirs;
        for (const TensorSpec& input : spec.inputs) ours.insert(input.name);
        for (const NamedTensor& t : snapshot) theirs.insert(t.name);
        throw WeightsMismatch("the snapshot holds '" + tensor.name +
                              "', which this model does not have (a snapshot of another model?)" +
                              KerasSuffixHint(ours, theirs));
      }
      const TensorSpec& input = spec.inputs[i];
      if (tensor.dtype != input.dtype || tensor.shape != input.shape ||
          tensor.bytes.size() != static_cast<std::size_t>(input.shape.num_elements()) * ItemSize(input.dtype)) {
        throw WeightsMismatch("variable '" + tensor.name + "' in the snapshot is " +
                              std::string(DTypeName(tensor.dtype)) + tensor.shape.to_string() + ", the model's is " +
                              std::string(DTypeName(input.dtype)) + input.shape.to_string());
      }
      views[i] = ConstTensorView{tensor.dtype, tensor.shape, tensor.bytes.data()};
      seen[i] = true;
    }
    for (std::size_t i = 0; i < seen.size(); ++i) {
      if (!seen[i]) throw WeightsMismatch("the snapshot lacks variable '" + spec.inputs[i].name + "'");
    }
    restore.Run(views);
  }

 private:
  // The signatures of snapshots and checkpoints: a model without them
  // trains, and says what is missing when asked for one.
  SignatureRunner& Save() {
    if (!save_) {
      throw InvalidArgument("the model has no signature returning its variables (" + KnownNames(SignatureRole::kSave) +
                            "): snapshots, checkpoints and bake need one; name it with TrainerOptions::save_signature");
    }
    return *save_;
  }
  SignatureRunner& Restorer() {
    RestoreSpec();  // throws without one
    return *restore_;
  }
  const SignatureSpec& RestoreSpec() const {
    if (!restore_) {
      throw InvalidArgument("the model has no signature taking its variables (" + KnownNames(SignatureRole::kRestore) +
                            "): restoring snapshots and checkpoints needs one; name it with "
                            "TrainerOptions::restore_signature");
    }
    return restore_->spec();
  }

  static std::optional<SignatureRunner> RoleRunner(const Model& model, const std::string& requested,
                                                   SignatureRole role) {
    std::vector<std::string> keys;
    std::vector<std::size_t> input_counts;
    for (const SignatureSpec& spec : model.signatures()) {
      keys.push_back(spec.key);
      input_counts.push_back(spec.inputs.size());
    }
    const std::optional<std::string> key = FindRole(keys, input_counts, requested, role);
    if (!key) return std::nullopt;
    return model.runner(*key);
  }

  // Refuses sparse labels outside [0, classes) of the one-hot that encodes them.
  void CheckLabels(const Dataset& data, const SignatureSpec& spec, const std::string& what) {
    auto found = label_classes_.find(spec.key);
    if (found == label_classes_.end()) {
      found = label_classes_.emplace(spec.key, detail::SparseLabelClasses(model_, spec)).first;
    }
    for (const Dataset::Column& column : data.columns()) {
      const std::size_t i = spec.input_index(column.name);
      if (found->second[i] > 0) {
        detail::CheckLabelRange(what + " '" + column.name + "'", column.data, found->second[i]);
      }
    }
  }

  // Sample-weighted sums over one epoch.
  struct EpochTotals {
    explicit EpochTotals(std::size_t num_metrics) : metrics(num_metrics, 0.0) {}
    int64_t samples = 0;
    double loss = 0.0;
    std::vector<double> metrics;
  };

  static void Stop(FitResult& result, std::string reason) {
    result.stopped = true;
    result.stop_reason = std::move(reason);
  }

  // Records step `step`'s loss and metrics (metric_indices_ order); false
  // when the fit must stop there.
  bool Record(int64_t step, int64_t count, int64_t last_run, int64_t epoch, float loss,
              const std::vector<float>& metrics, const FitOptions& options, const Snapshot& epoch_start,
              EpochTotals& totals, FitResult& result) {
    result.losses.push_back(loss);
    ++result.steps;
    totals.samples += count;
    totals.loss += static_cast<double>(loss) * static_cast<double>(count);
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      totals.metrics[m] += static_cast<double>(metrics[m]) * static_cast<double>(count);
    }
    if (!std::isfinite(loss)) {
      HandleNonFinite(loss, epoch, step, last_run, options, epoch_start, result);
      return false;
    }
    return true;
  }

  // The periodic callback, after the run that ended at the fit's current step.
  bool PeriodicCallback(int64_t epoch, const FitOptions& options, FitResult& result) {
    const int64_t run_step = options.initial_step + result.steps;
    if (options.callback && options.callback_every > 0 && run_step % options.callback_every == 0 &&
        !options.callback(FitProgress{run_step, epoch, result.losses.back()})) {
      Stop(result, "callback");
      return false;
    }
    return true;
  }

  void RunEpoch(BatchFeeder& feeder, BatchFeeder* run_feeder, const std::vector<int64_t>& order, int64_t steps,
                int64_t batch, int64_t epoch, const FitOptions& options, const Snapshot& epoch_start,
                EpochTotals& totals, FitResult& result) {
    const int64_t n = static_cast<int64_t>(order.size());
    auto count_of = [&](int64_t step) { return std::min(batch, n - step * batch); };
    auto rows_of = [&](int64_t step) { return order.data() + step * batch; };
    const int64_t k = run_feeder != nullptr ? step_runs_->steps_per_run() : 0;
    std::vector<float> metrics(metric_indices_.size());
    // K steps in one run when K whole batches follow and no periodic
    // callback falls between them.
    auto runs_k_steps = [&](int64_t step) {
      if (k == 0 || step + k > steps || count_of(step + k - 1) != batch) return false;
      const int64_t before = options.initial_step + result.steps;
      return !options.callback || options.callback_every <= 0 ||
             before / options.callback_every == (before + k - 1) / options.callback_every;
    };
    // With a helper thread, batches alternate between two slots so that the
    // next one is gathered while this one trains. Without, one slot: LiteRT
    // runs measurably more code per run when its input buffers change.
    const bool overlap = feeder.prefetching();
    if (overlap) feeder.Start(0, rows_of(0), count_of(0));
    for (int64_t step = 0; step < steps;) {
      if (overlap) feeder.Wait();
      if (options.stop != nullptr && options.stop->load(std::memory_order_relaxed)) {
        Stop(result, "stop flag");
        return;
      }
      if (runs_k_steps(step)) {  // never with `overlap`: then there is no run_feeder
        run_feeder->Start(0, rows_of(step), k * batch);
        run_feeder->Wait();
        step_runs_->Run(run_feeder->Views(0, k * batch));
        ++result.runs;
        for (int64_t s = 0; s < k; ++s) {
          for (std::size_t m = 0; m < metrics.size(); ++m) metrics[m] = step_runs_->Output(metric_indices_[m], s);
          const float loss = step_runs_->Output(loss_index_, s);
          if (!Record(step + s, batch, step + k - 1, epoch, loss, metrics, options, epoch_start, totals, result)) {
            return;
          }
        }
        step += k;
        if (!PeriodicCallback(epoch, options, result)) return;
        continue;
      }
      const int slot = overlap ? static_cast<int>(step % 2) : 0;
      const int64_t count = count_of(step);
      if (!overlap) feeder.Start(slot, rows_of(step), count);
      const std::vector<ConstTensorView>& views = feeder.Views(slot, count);
      if (overlap && step + 1 < steps) feeder.Start(slot ^ 1, rows_of(step + 1), count_of(step + 1));
      try {
        train_.Run(views);
      } catch (...) {
        feeder.Wait();  // the helper thread must not outlive `order`
        throw;
      }
      // What follows may throw or return: nothing may be left running.
      feeder.Wait();
      ++result.runs;
      const auto& outputs = train_.outputs();
      const auto scalar = [&](std::size_t o) { return *static_cast<const float*>(outputs[o].data); };
      for (std::size_t m = 0; m < metrics.size(); ++m) metrics[m] = scalar(metric_indices_[m]);
      if (!Record(step, count, step, epoch, scalar(loss_index_), metrics, options, epoch_start, totals, result)) return;
      ++step;
      if (!PeriodicCallback(epoch, options, result)) return;
    }
  }

  // `last_run` is the last step the model ran: `step` itself, or the end of
  // the run of steps it was part of.
  void HandleNonFinite(float loss, int64_t epoch, int64_t step, int64_t last_run, const FitOptions& options,
                       const Snapshot& epoch_start, FitResult& result) {
    nonfinite_stop_ = true;
    const std::string what = "non-finite loss (" + std::to_string(loss) + ") at step " + std::to_string(step) +
                             " of epoch " + std::to_string(epoch);
    const std::string after = last_run == step ? "that step"
                                               : "step " + std::to_string(last_run) + ", the end of the run of " +
                                                     std::to_string(step_runs_->steps_per_run()) + " steps it was in";
    switch (options.on_nonfinite) {
      case OnNonFinite::kRaise: throw NonFiniteLoss(what + "; the weights are those after " + after);
      case OnNonFinite::kStop:
        Stop(result, last_run == step ? what : what + "; the weights are those after " + after);
        return;
      case OnNonFinite::kRollback:
        Restore(epoch_start);
        Stop(result, what + "; weights rolled back to the start of the epoch");
        return;
    }
  }

  Model model_;
  SignatureRunner train_;
  std::optional<SignatureRunner> save_;     // see Save()
  std::optional<SignatureRunner> restore_;  // see Restorer()
  std::size_t loss_index_;
  std::vector<std::size_t> metric_indices_;    // float32 scalar outputs besides the loss
  std::optional<detail::StepRuns> step_runs_;  // K steps per run, if the model has them
  detail::LearningRate learning_rate_;
  std::map<std::string, std::vector<int64_t>> label_classes_;  // per signature, per input; -1: not labels
  std::optional<TrainingState> state_;                         // where the run stands (training_state())
  bool nonfinite_stop_ = false;                                // the current fit met a non-finite loss
  // One public call at a time; recursive so that a fit's epoch-end hook may
  // use the trainer from the fit's own thread.
  std::recursive_mutex mutex_;
  std::atomic<bool> fitting_{false};
};

Trainer::Trainer(const Model& model, const TrainerOptions& options) {
  detail::ClaimForTrainer(model);
  try {
    impl_ = std::make_unique<Impl>(model, options);
  } catch (...) {
    detail::ReleaseFromTrainer(model.file_data());
    throw;
  }
}
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;

namespace {
using Lock = std::lock_guard<std::recursive_mutex>;

// Marks a fit as running for its whole length.
class FitGuard {
 public:
  explicit FitGuard(std::atomic<bool>& fitting) : fitting_(fitting) {
    if (fitting_.exchange(true)) {
      throw TrainerBusy(
          "this Trainer is already running fit (on another thread, or this is a call from that "
          "fit's own callback): one fit at a time per Trainer");
    }
  }
  ~FitGuard() { fitting_.store(false); }
  FitGuard(const FitGuard&) = delete;
  FitGuard& operator=(const FitGuard&) = delete;

 private:
  std::atomic<bool>& fitting_;
};
}  // namespace

FitResult Trainer::Fit(const Dataset& data, const FitOptions& options) {
  FitGuard running(impl_->fitting());
  Lock lock(impl_->mutex());
  return impl_->Fit(data, options);
}
void Trainer::Resume(const std::string& path, int64_t total_epochs, FitOptions& options) {
  Lock lock(impl_->mutex());
  impl_->Resume(path, total_epochs, options);
}
std::vector<NamedTensor> Trainer::Predict(const Dataset& data, int64_t batch_size, const std::string& signature) {
  Lock lock(impl_->mutex());
  return impl_->Predict(data, batch_size, signature);
}
std::vector<std::pair<std::string, double>> Trainer::Evaluate(const Dataset& data, int64_t batch_size,
                                                              const std::string& signature) {
  Lock lock(impl_->mutex());
  return impl_->Evaluate(data, batch_size, signature);
}
Snapshot Trainer::TakeSnapshot() {
  Lock lock(impl_->mutex());
  return impl_->TakeSnapshot();
}
void Trainer::Restore(const Snapshot& snapshot) {
  Lock lock(impl_->mutex());
  impl_->Restore(snapshot);
}
void Trainer::SaveCheckpoint(const std::string& path) {
  Lock lock(impl_->mutex());
  const Snapshot snapshot = impl_->TakeSnapshot();
  const std::optional<TrainingState>& state = impl_->training_state();
  WriteCheckpoint(path, snapshot, state ? &*state : nullptr);
}
std::optional<TrainingState> Trainer::LoadCheckpoint(const std::string& path) {
  Checkpoint checkpoint = LoadCheckpointWithState(path);  // reads and verifies the whole file first
  Lock lock(impl_->mutex());
  impl_->CheckCheckpoint(path, checkpoint.variables);
  impl_->Restore(checkpoint.variables);
  impl_->SetState(checkpoint.training);
  impl_->RestoreLearningRate();
  return checkpoint.training;
}
std::optional<TrainingState> Trainer::training_state() const {
  Lock lock(impl_->mutex());
  return impl_->training_state();
}
std::optional<float> Trainer::LearningRate() {
  Lock lock(impl_->mutex());
  return impl_->LearningRate();
}
void Trainer::SetLearningRate(double value) {
  Lock lock(impl_->mutex());
  impl_->SetLearningRate(value);
}
const Model& Trainer::model() const { return impl_->model(); }

}  // namespace litetrain
