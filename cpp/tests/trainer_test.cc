#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>
#include <vector>

#include "litetrain/errors.h"
#include "litetrain/trainer.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;

// 40 samples for the 32-16-4 MLP (test_models.h).
using Data = testing::MlpData;

Trainer DynamicTrainer() { return Trainer(Model::FromFile(ModelPath("mlp_dynamic.tflite"))); }

FitOptions Batches(int64_t batch_size, int64_t epochs = 1) {
  FitOptions options;
  options.batch_size = batch_size;
  options.epochs = epochs;
  return options;
}

TEST(EpochOrder, IsAPermutationThatDependsOnSeedAndEpoch) {
  const auto a = EpochOrder(100, 1, 0, true);
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 100u);
  EXPECT_EQ(a, EpochOrder(100, 1, 0, true));
  EXPECT_NE(a, EpochOrder(100, 1, 1, true));
  EXPECT_NE(a, EpochOrder(100, 2, 0, true));
  const auto plain = EpochOrder(5, 1, 0, false);
  EXPECT_EQ(plain, (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(Trainer, FitLowersTheLossAndCountsSteps) {
  Trainer trainer = DynamicTrainer();
  Data data;
  const FitResult result = trainer.Fit(data.dataset(), Batches(8, 30));
  EXPECT_EQ(result.steps, 150);
  EXPECT_EQ(result.epochs_completed, 30);
  ASSERT_EQ(result.epoch_losses.size(), 30u);
  EXPECT_LT(result.epoch_losses.back(), 0.5 * result.epoch_losses.front());
  EXPECT_FALSE(result.stopped);
  ASSERT_EQ(result.metric_names, std::vector<std::string>{"accuracy"});
  ASSERT_EQ(result.epoch_metrics.size(), 30u);
  EXPECT_GT(result.epoch_metrics.back()[0], result.epoch_metrics.front()[0]);
}

TEST(Trainer, PartialLastBatchIsTrainedUnlessDropped) {
  Trainer trainer = DynamicTrainer();
  Data data(21);
  FitOptions options = Batches(8);
  EXPECT_EQ(trainer.Fit(data.dataset(), options).steps, 3);
  options.drop_remainder = true;
  EXPECT_EQ(trainer.Fit(data.dataset(), options).steps, 2);
}

TEST(Trainer, SnapshotRestoreReplaysTheSameLosses) {
  Trainer trainer = DynamicTrainer();
  Data data;
  const FitOptions options = Batches(8, 2);
  const Snapshot start = trainer.TakeSnapshot();
  const auto first = trainer.Fit(data.dataset(), options).losses;
  trainer.Restore(start);
  const auto second = trainer.Fit(data.dataset(), options).losses;
  EXPECT_EQ(first, second);
}

TEST(Trainer, StopFlagAndCallbackStopTraining) {
  Trainer trainer = DynamicTrainer();
  Data data;
  FitOptions options = Batches(8, 10);
  options.callback_every = 3;
  options.callback = [](const FitProgress& p) { return p.step < 6; };
  FitResult result = trainer.Fit(data.dataset(), options);
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.steps, 6);
  EXPECT_EQ(result.stop_reason, "callback");

  std::atomic<bool> stop{true};
  options.callback = nullptr;
  options.stop = &stop;
  result = trainer.Fit(data.dataset(), options);
  EXPECT_EQ(result.steps, 0);
  EXPECT_EQ(result.stop_reason, "stop flag");
}

TEST(Trainer, NonFiniteLossPolicies) {
  Trainer trainer = DynamicTrainer();
  Data data;
  data.x[5 * 32] = std::nanf("");
  FitOptions options = Batches(8);
  options.shuffle = false;
  EXPECT_THROW(trainer.Fit(data.dataset(), options), NonFiniteLoss);

  Trainer fresh = DynamicTrainer();
  const Snapshot before = fresh.TakeSnapshot();
  options.on_nonfinite = OnNonFinite::kRollback;
  const FitResult result = fresh.Fit(data.dataset(), options);
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.steps, 1);
  const Snapshot after = fresh.TakeSnapshot();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].bytes, after[i].bytes) << before[i].name;
}

// mlp_steps has train_steps, 4 steps per run, beside train (batch 8).
Trainer StepsTrainer(bool multi_step) {
  TrainerOptions options;
  options.multi_step = multi_step;
  return Trainer(Model::FromFile(ModelPath("mlp_steps.tflite")), options);
}

TEST(Trainer, RunsOfStepsTrainAsSingleStepsDo) {
  // 9 batches an epoch: two runs of 4 steps and a single step, every epoch
  // in another order; a periodic callback every 6 steps splits runs too.
  Data data(72);
  FitOptions options = Batches(8, 3);
  std::vector<int64_t> called;
  options.callback_every = 6;
  options.callback = [&](const FitProgress& p) {
    called.push_back(p.step);
    return true;
  };
  Trainer runs = StepsTrainer(true);
  const FitResult a = runs.Fit(data.dataset(), options);
  const std::vector<int64_t> called_in_runs = called;
  called.clear();
  Trainer single = StepsTrainer(false);
  const FitResult b = single.Fit(data.dataset(), options);
  EXPECT_EQ(a.steps, 27);
  EXPECT_EQ(b.runs, 27);
  EXPECT_LT(a.runs, 20);
  EXPECT_EQ(a.losses, b.losses);  // bit for bit
  EXPECT_EQ(a.epoch_metrics, b.epoch_metrics);
  EXPECT_EQ(called_in_runs, called);
  const Snapshot wa = runs.TakeSnapshot(), wb = single.TakeSnapshot();
  for (std::size_t i = 0; i < wa.size(); ++i) EXPECT_EQ(wa[i].bytes, wb[i].bytes) << wa[i].name;
}

TEST(Trainer, ANonFiniteLossInARunOfStepsIsReportedAtItsStep) {
  Data data(64);
  data.x[9 * 32] = std::nanf("");  // sample 9: the second batch (no shuffle)
  FitOptions options = Batches(8);
  options.shuffle = false;
  Trainer trainer = StepsTrainer(true);
  try {
    trainer.Fit(data.dataset(), options);
    FAIL() << "no NonFiniteLoss";
  } catch (const NonFiniteLoss& e) {
    EXPECT_NE(std::string(e.what()).find("at step 1 of epoch 0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("after step 3, the end of the run of 4 steps"), std::string::npos) << e.what();
  }
  options.on_nonfinite = OnNonFinite::kStop;
  Trainer stopping = StepsTrainer(true);
  const FitResult result = stopping.Fit(data.dataset(), options);
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.steps, 2);
  EXPECT_EQ(result.losses.size(), 2u);
}

TEST(Trainer, RefusesDataThatDoesNotFit) {
  Trainer trainer(Model::FromFile(ModelPath("mlp_fixed.tflite")));
  Data data(21);
  FitOptions options = Batches(8);
  EXPECT_THROW(trainer.Fit(data.dataset(), options), InvalidArgument);  // remainder, fixed batch
  options.batch_size = 4;
  EXPECT_THROW(trainer.Fit(data.dataset(), options), InvalidArgument);  // not the fixed batch
  std::vector<float> wide(21 * 33);
  Dataset bad(
      {{"x", {DType::kFloat32, Shape{21, 33}, wide.data()}}, {"y", {DType::kFloat32, Shape{21, 4}, data.y.data()}}});
  options.batch_size = 8;
  options.drop_remainder = true;
  EXPECT_THROW(trainer.Fit(bad, options), InvalidArgument);
  EXPECT_THROW(Dataset({{"x", {DType::kFloat32, Shape{21, 32}, data.x.data()}},
                        {"y", {DType::kFloat32, Shape{20, 4}, data.y.data()}}}),
               InvalidArgument);
}

TEST(Trainer, PredictAndEvaluateCoverEverySample) {
  Trainer trainer(Model::FromFile(ModelPath("mlp_fixed.tflite")));
  Data data(21);
  const Dataset inputs({{"x", {DType::kFloat32, Shape{21, 32}, data.x.data()}}});
  const auto outputs = trainer.Predict(inputs, 8);  // padded last batch
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].shape, (Shape{21, 4}));
  Data even(24);
  const auto metrics = trainer.Evaluate(even.dataset(), 8);
  ASSERT_EQ(metrics.size(), 2u);
  for (const auto& [name, value] : metrics) EXPECT_TRUE(std::isfinite(value)) << name;
  // 21 % 8 != 0: the last 5 samples run as repeated groups, and the mean
  // over all 21 is the sample-weighted mean of its parts.
  const Dataset all = data.dataset();
  const auto whole = trainer.Evaluate(all, 8);
  const auto head = trainer.Evaluate(all.Slice(0, 16), 8);
  const auto tail = trainer.Evaluate(all.Slice(16, 5), 8);
  ASSERT_EQ(whole.size(), 2u);
  for (std::size_t m = 0; m < whole.size(); ++m) {
    EXPECT_NEAR(whole[m].second, (16.0 * head[m].second + 5.0 * tail[m].second) / 21.0, 1e-9) << whole[m].first;
  }
  EXPECT_THROW(trainer.Evaluate(all, 4), InvalidArgument);  // not the fixed batch
}

}  // namespace
}  // namespace litetrain
