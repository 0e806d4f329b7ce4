// The native epoch-end callbacks and their rules (the same rules the
// Python callbacks call), and resuming a run from the checkpoints they write.
#include <gtest/gtest.h>

#include <vector>

#include "litetrain/callbacks.h"
#include "litetrain/checkpoint.h"
#include "litetrain/errors.h"
#include "litetrain/trainer.h"
#include "temp_dir.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;
using testing::TempDir;

// 40 samples for the 32-16-4 MLP (test_models.h).
struct Data : testing::MlpData {
  Data() : MlpData(40, 11) {}
};

Trainer MlpTrainer() { return Trainer(Model::FromFile(ModelPath("mlp_dynamic.tflite"))); }

FitOptions Epochs(int64_t epochs) {
  FitOptions options;
  options.batch_size = 8;
  options.epochs = epochs;
  options.seed = 7;
  return options;
}

void ExpectSameWeights(const Snapshot& a, const Snapshot& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].bytes, b[i].bytes) << a[i].name << " differs";
  }
}

EpochLogs Logs(int64_t epoch, double loss, double val_loss) {
  EpochLogs logs;
  logs.epoch = epoch;
  logs.loss = loss;
  logs.metrics = {{"accuracy", 0.5}};
  logs.validation = {{"loss", val_loss}};
  return logs;
}

TEST(Improvement, PicksTheDirectionFromTheNameAsKeras) {
  EXPECT_EQ(Improvement("val_loss", MonitorMode::kAuto, 0).mode(), MonitorMode::kMin);
  EXPECT_EQ(Improvement("val_accuracy", MonitorMode::kAuto, 0).mode(), MonitorMode::kMax);
  EXPECT_EQ(Improvement("mean_error", MonitorMode::kAuto, 0).mode(), MonitorMode::kMin);
  EXPECT_THROW(Improvement("score", MonitorMode::kAuto, 0), InvalidArgument);
  EXPECT_EQ(Improvement("score", MonitorMode::kMax, 0).mode(), MonitorMode::kMax);
}

TEST(Improvement, MustBeatTheBestByMoreThanMinDelta) {
  const Improvement lower("loss", MonitorMode::kAuto, 0.1);
  EXPECT_TRUE(lower.Beats(5.0, std::nullopt));
  EXPECT_TRUE(lower.Beats(0.85, 1.0));
  EXPECT_FALSE(lower.Beats(0.95, 1.0));
  const Improvement higher("accuracy", MonitorMode::kAuto, -0.1);  // the sign is ignored
  EXPECT_TRUE(higher.Beats(0.75, 0.6));
  EXPECT_FALSE(higher.Beats(0.65, 0.6));
}

TEST(Improvement, ReadsLossMetricsAndValidationByKerasNames) {
  const EpochLogs logs = Logs(0, 1.5, 2.5);
  EXPECT_EQ(Improvement("loss", MonitorMode::kMin, 0).Read(logs), 1.5);
  EXPECT_EQ(Improvement("accuracy", MonitorMode::kMax, 0).Read(logs), 0.5);
  EXPECT_EQ(Improvement("val_loss", MonitorMode::kMin, 0).Read(logs), 2.5);
  try {
    Improvement("val_accuracy", MonitorMode::kMax, 0).Read(logs);
    FAIL() << "read a quantity that is not logged";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("they log loss, accuracy, val_loss"), std::string::npos) << e.what();
  }
}

TEST(PatienceRule, StopsAfterPatienceEpochsWithoutImprovement) {
  PatienceRule rule(Improvement("loss", MonitorMode::kMin, 0), 2, std::nullopt, 0);
  const std::vector<double> losses = {1.0, 0.9, 0.95, 0.96, 0.5};
  std::vector<bool> stops;
  for (int64_t epoch = 0; epoch < 4; ++epoch) stops.push_back(rule.Step(epoch, losses[epoch]).stop);
  EXPECT_EQ(stops, (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(rule.best_epoch(), 1);
  EXPECT_EQ(*rule.best(), 0.9);
}

TEST(PatienceRule, BaselineAndStartEpochAsKeras) {
  // Improvements that do not beat the baseline do not reset the patience.
  PatienceRule rule(Improvement("loss", MonitorMode::kMin, 0), 1, 0.5, 0);
  EXPECT_FALSE(rule.Step(0, 0.9).stop);
  EXPECT_TRUE(rule.Step(1, 0.8).improved);
  EXPECT_EQ(rule.wait(), 2);
  EXPECT_TRUE(rule.Step(2, 0.85).stop);
  PatienceRule late(Improvement("loss", MonitorMode::kMin, 0), 0, std::nullopt, 3);
  for (int64_t epoch = 0; epoch < 3; ++epoch) EXPECT_FALSE(late.Step(epoch, 1.0 + epoch).stop);
  EXPECT_FALSE(late.Step(3, 9.0).stop);  // the first epoch counted is the first best
  EXPECT_TRUE(late.Step(4, 9.5).stop);
}

TEST(PlateauRule, ReducesAfterPatienceThenCoolsDown) {
  PlateauRule rule(Improvement("loss", MonitorMode::kMin, 0), 2, 1);
  std::vector<bool> reduce;
  for (double loss : {1.0, 1.0, 1.0, 1.0, 1.0, 1.0}) {
    const bool now = rule.Step(loss);
    if (now) rule.Reduced();
    reduce.push_back(now);
  }
  // Epoch 0 is the first best; waits 1, 2: reduce. Epoch 3 ends the
  // cooldown and counts (as Keras: the counter is checked after it is
  // decremented): wait 1; epoch 4, wait 2: reduce.
  EXPECT_EQ(reduce, (std::vector<bool>{false, false, true, false, true, false}));
}

TEST(EarlyStopping, StopsTheFitAndRestoresTheBestWeights) {
  Data data;
  // A min_delta no epoch can beat: the first epoch stays the best.
  EarlyStopping stopping({.monitor = "loss", .min_delta = 100.0, .patience = 2, .restore_best_weights = true});
  Trainer trainer = MlpTrainer();
  const FitResult result = FitWithCallbacks(trainer, data.dataset(), Epochs(10), {&stopping});
  EXPECT_EQ(result.epochs_completed, 3);
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(stopping.stopped_epoch(), 2);
  EXPECT_EQ(stopping.best_epoch(), 0);

  Trainer one_epoch = MlpTrainer();
  one_epoch.Fit(data.dataset(), Epochs(1));
  ExpectSameWeights(trainer.TakeSnapshot(), one_epoch.TakeSnapshot());
}

TEST(EarlyStopping, RefusesAQuantityTheFitDoesNotLog) {
  Data data;
  EarlyStopping stopping({.monitor = "val_loss"});  // no validation data
  Trainer trainer = MlpTrainer();
  EXPECT_THROW(FitWithCallbacks(trainer, data.dataset(), Epochs(2), {&stopping}), InvalidArgument);
}

TEST(ModelCheckpoint, WritesEachEpochAndTheRunResumesFromAnyOfThem) {
  TempDir dir;
  Data data;
  ModelCheckpoint every({.filepath = dir.path() + "/ck-{epoch}.npz"});
  Trainer unbroken = MlpTrainer();
  FitWithCallbacks(unbroken, data.dataset(), Epochs(4), {&every});
  EXPECT_EQ(every.last_saved(), dir.path() + "/ck-4.npz");
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"ck-1.npz", "ck-2.npz", "ck-3.npz", "ck-4.npz"}));

  // Killed after epoch 2: resume from its checkpoint for the 4 epochs in all.
  Trainer resumed = MlpTrainer();
  FitOptions options = Epochs(4);
  resumed.Resume(dir.path() + "/ck-2.npz", 4, options);
  EXPECT_EQ(options.initial_epoch, 2);
  EXPECT_EQ(options.epochs, 2);
  const FitResult rest = resumed.Fit(data.dataset(), options);
  EXPECT_EQ(rest.steps, 10);
  ExpectSameWeights(resumed.TakeSnapshot(), unbroken.TakeSnapshot());
  ASSERT_TRUE(resumed.training_state().has_value());
  EXPECT_EQ(resumed.training_state()->epochs_done, 4);
  EXPECT_EQ(resumed.training_state()->steps_done, 20);

  // Another seed would see other batches: refused, not silently diverging.
  FitOptions other = Epochs(4);
  other.seed = 8;
  Trainer refused = MlpTrainer();
  EXPECT_THROW(refused.Resume(dir.path() + "/ck-2.npz", 4, other), InvalidArgument);
}

TEST(ModelCheckpoint, SaveBestOnlyWritesOnImprovement) {
  TempDir dir;
  Data data;
  ModelCheckpoint best({.filepath = dir.path() + "/best-{epoch}.npz",
                        .monitor = "loss",
                        .save_best_only = true,
                        .initial_value_threshold = -1.0});  // no loss beats it
  Trainer trainer = MlpTrainer();
  FitWithCallbacks(trainer, data.dataset(), Epochs(2), {&best});
  EXPECT_TRUE(best.last_saved().empty());
  EXPECT_TRUE(dir.List().empty());
}

TEST(ModelCheckpoint, RefusesFieldsItCannotFill) {
  EXPECT_THROW(ModelCheckpoint({.filepath = "ck-{epoch:02d}.npz"}), InvalidArgument);
  EXPECT_THROW(ModelCheckpoint({.filepath = "ck-{val_loss}.npz"}), InvalidArgument);
  EXPECT_NO_THROW(ModelCheckpoint({.filepath = "ck-{epoch}-{epoch}.npz"}));
}

TEST(ReduceLROnPlateau, RefusesAModelWithAFixedLearningRate) {
  Data data;
  ReduceLROnPlateau reduce({.monitor = "loss"});
  Trainer trainer = MlpTrainer();  // no get/set_learning_rate signatures
  EXPECT_THROW(FitWithCallbacks(trainer, data.dataset(), Epochs(1), {&reduce}), InvalidArgument);
  EXPECT_THROW(ReduceLROnPlateau({.factor = 1.5}), InvalidArgument);
}

}  // namespace
}  // namespace litetrain
