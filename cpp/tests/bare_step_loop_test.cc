#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bench/bare_step_loop.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;

// `n` samples for the 32-16-4 MLP.
struct Data : testing::MlpData {
  explicit Data(int64_t n) : MlpData(n, 5) {}
};

float Loss(const BareStepLoop& loop) { return *static_cast<const float*>(loop.output("loss").data); }

TEST(BareStepLoop, TrainsOnItsBatchesAndTimesItsSteps) {
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  const Data data(8);
  BareStepLoop loop(model, "train", data.dataset(), 8);
  EXPECT_EQ(loop.num_batches(), 1);
  EXPECT_GE(loop.Run(1), 0.0);
  const float first = Loss(loop);
  EXPECT_GT(loop.Run(200), 0.0);
  EXPECT_LT(Loss(loop), 0.5f * first);  // the same batch 200 times: it must fit it
  EXPECT_GE(loop.Run(0), 0.0);
}

TEST(BareStepLoop, CyclesThroughTheBatchesFromTheFirstOnEveryRun) {
  const Data data(24);
  BareStepLoop a(Model::FromFile(ModelPath("mlp_fixed.tflite")), "train", data.dataset(), 8);
  BareStepLoop b(Model::FromFile(ModelPath("mlp_fixed.tflite")), "train", data.dataset(), 8);
  EXPECT_EQ(a.num_batches(), 3);
  // Five steps in one call or in two (3 + 2) see the same batches:
  // 0 1 2 0 1 against 0 1 2 | 0 1.
  a.Run(5);
  b.Run(3);
  b.Run(2);
  EXPECT_EQ(Loss(a), Loss(b));
}

TEST(BareStepLoop, TrainsEachStepOnItsOwnBatchAsARunnerWould) {
  const Data data(24);
  BareStepLoop loop(Model::FromFile(ModelPath("mlp_fixed.tflite")), "train", data.dataset(), 8);
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  SignatureRunner train = model.runner("train");
  const std::size_t x = train.spec().input_index("x"), y = train.spec().input_index("y");
  const std::size_t loss = train.spec().output_index("loss");
  // Batches 0 1 2 0: each step's loss must be what a runner gets from the
  // same batch after the same steps before it.
  for (int64_t b : {0, 1, 2, 0}) {
    loop.Run(1 + b);  // starts at batch 0 and ends on batch b; re-runs the earlier ones
    std::vector<ConstTensorView> inputs(2);
    for (int64_t step = 0; step <= b; ++step) {
      inputs[x] = {DType::kFloat32, Shape{8, 32}, data.x.data() + step * 8 * 32};
      inputs[y] = {DType::kFloat32, Shape{8, 4}, data.y.data() + step * 8 * 4};
      train.Run(inputs);
    }
    EXPECT_EQ(Loss(loop), *static_cast<const float*>(train.outputs()[loss].data)) << "batch " << b;
  }
}

TEST(BareStepLoop, RunsTrainStepsOnKBatchesARun) {
  // mlp_steps: train_steps takes [4, 8, ...], four steps of batch 8 a run.
  const Data data(64);  // two runs of four batches
  const Dataset runs({{"x", {DType::kFloat32, Shape{8, 8, 32}, data.x.data()}},
                      {"y", {DType::kFloat32, Shape{8, 8, 4}, data.y.data()}}});
  BareStepLoop loop(Model::FromFile(ModelPath("mlp_steps.tflite")), "train_steps", runs, 4);
  EXPECT_EQ(loop.num_batches(), 2);
  const Model model = Model::FromFile(ModelPath("mlp_steps.tflite"));
  SignatureRunner steps = model.runner("train_steps");
  const std::size_t x = steps.spec().input_index("x"), y = steps.spec().input_index("y");
  const std::size_t loss = steps.spec().output_index("loss");
  loop.Run(3);  // runs 0 1 0
  std::vector<ConstTensorView> inputs(2);
  for (int64_t run : {0, 1, 0}) {
    inputs[x] = {DType::kFloat32, Shape{4, 8, 32}, data.x.data() + run * 4 * 8 * 32};
    inputs[y] = {DType::kFloat32, Shape{4, 8, 4}, data.y.data() + run * 4 * 8 * 4};
    steps.Run(inputs);
  }
  const ConstTensorView expected = steps.outputs()[loss], got = loop.output("loss");
  ASSERT_EQ(got.shape.num_elements(), expected.shape.num_elements());
  for (int64_t i = 0; i < got.shape.num_elements(); ++i) {
    EXPECT_EQ(static_cast<const float*>(got.data)[i], static_cast<const float*>(expected.data)[i]) << "step " << i;
  }
}

TEST(BareStepLoop, CopiesItsDataOnce) {
  Data data(8);
  BareStepLoop loop(Model::FromFile(ModelPath("mlp_fixed.tflite")), "train", data.dataset(), 8);
  std::fill(data.x.begin(), data.x.end(), 1e6f);  // the loop must not read this
  loop.Run(1);
  const Data original(8);
  BareStepLoop again(Model::FromFile(ModelPath("mlp_fixed.tflite")), "train", original.dataset(), 8);
  again.Run(1);
  EXPECT_EQ(Loss(loop), Loss(again));
}

TEST(BareStepLoop, ResizesADynamicBatchAndLeavesOtherRunnersWorking) {
  const Model model = Model::FromFile(ModelPath("mlp_dynamic.tflite"));
  const Data ten(10), three(3);
  BareStepLoop loop(model, "train", ten.dataset(), 5);
  SignatureRunner train = model.runner("train");
  // A second instance replays every step through one runner: the losses
  // must match, so neither side ran on the other's shapes or data.
  const Model mirror_model = Model::FromFile(ModelPath("mlp_dynamic.tflite"));
  SignatureRunner mirror = mirror_model.runner("train");
  const std::size_t x = train.spec().input_index("x"), y = train.spec().input_index("y");
  const std::size_t loss = train.spec().output_index("loss");
  auto inputs = [&](const Data& d, int64_t first, int64_t n) {
    std::vector<ConstTensorView> views(2);
    views[x] = {DType::kFloat32, Shape{n, 32}, d.x.data() + first * 32};
    views[y] = {DType::kFloat32, Shape{n, 4}, d.y.data() + first * 4};
    return views;
  };
  auto loss_of = [&](const SignatureRunner& r) { return *static_cast<const float*>(r.outputs()[loss].data); };
  auto mirror_loop_steps = [&] {  // the loop's three steps: batches 0 1 0 of five samples
    for (int64_t first : {0, 5, 0}) mirror.Run(inputs(ten, first, 5));
  };

  loop.Run(3);
  mirror_loop_steps();
  EXPECT_EQ(Loss(loop), loss_of(mirror));
  train.Run(inputs(three, 0, 3));  // resizes to 3
  mirror.Run(inputs(three, 0, 3));
  EXPECT_EQ(loss_of(train), loss_of(mirror));
  loop.Run(3);  // puts its batch of 5 back
  mirror_loop_steps();
  EXPECT_EQ(Loss(loop), loss_of(mirror));
  train.Run(inputs(three, 0, 3));
  mirror.Run(inputs(three, 0, 3));
  EXPECT_EQ(train.outputs()[loss].shape.num_elements(), 1);
  EXPECT_EQ(loss_of(train), loss_of(mirror));
}

TEST(BareStepLoop, RefusesBadDataByName) {
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  const Data data(16), odd(12);
  try {
    BareStepLoop loop(model, "train", data.dataset("z"), 8);
    FAIL() << "an unknown input name was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
  }
  const Dataset only_x({{"x", {DType::kFloat32, Shape{16, 32}, data.x.data()}}});
  EXPECT_THROW(BareStepLoop(model, "train", only_x, 8), InvalidArgument);          // y missing
  EXPECT_THROW(BareStepLoop(model, "train", data.dataset(), 4), InvalidArgument);  // the model's batch is 8
  EXPECT_THROW(BareStepLoop(model, "train", odd.dataset(), 8), InvalidArgument);   // 12 samples, batch 8
  EXPECT_THROW(BareStepLoop(model, "nope", data.dataset(), 8), InvalidArgument);   // no signature
  BareStepLoop loop(model, "train", data.dataset(), 8);
  EXPECT_THROW(loop.output("nope"), InvalidArgument);
  EXPECT_THROW(loop.Run(-1), InvalidArgument);
}

}  // namespace
}  // namespace litetrain
