#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "litetrain/bare_step_loop.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;

// One batch for the 32-16-4 MLP.
struct Batch {
  explicit Batch(int64_t n) : n(n), x(static_cast<std::size_t>(n) * 32), y(static_cast<std::size_t>(n) * 4, 0.0f) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    for (auto& v : x) v = normal(rng);
    for (int64_t i = 0; i < n; ++i) y[static_cast<std::size_t>(i * 4 + rng() % 4)] = 1.0f;
  }
  std::vector<std::pair<std::string, ConstTensorView>> inputs() const {
    return {{"x", {DType::kFloat32, Shape{n, 32}, x.data()}}, {"y", {DType::kFloat32, Shape{n, 4}, y.data()}}};
  }
  int64_t n;
  std::vector<float> x, y;
};

float Loss(const BareStepLoop& loop) { return *static_cast<const float*>(loop.output("loss").data); }

TEST(BareStepLoop, TrainsOnTheBoundBatchAndTimesItsSteps) {
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  const Batch batch(8);
  BareStepLoop loop(model, "train", batch.inputs());
  EXPECT_GE(loop.Run(1), 0.0);
  const float first = Loss(loop);
  const double seconds = loop.Run(200);
  EXPECT_GT(seconds, 0.0);
  EXPECT_LT(Loss(loop), 0.5f * first);  // the same batch 200 times: it must fit it
  EXPECT_EQ(loop.Run(0) >= 0.0, true);
}

TEST(BareStepLoop, CopiesTheBatchOnce) {
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  Batch batch(8);
  BareStepLoop loop(model, "train", batch.inputs());
  loop.Run(1);
  const float loss = Loss(loop);
  // Changing the caller's memory afterwards changes nothing the loop reads:
  // a second loop on a fresh model with the original data sees the same loss.
  std::fill(batch.x.begin(), batch.x.end(), 1e6f);
  const Batch original(8);
  BareStepLoop again(Model::FromFile(ModelPath("mlp_fixed.tflite")), "train", original.inputs());
  again.Run(1);
  EXPECT_EQ(Loss(again), loss);
  loop.Run(1);
  EXPECT_TRUE(std::isfinite(Loss(loop)));
}

TEST(BareStepLoop, ResizesADynamicBatchAndLeavesOtherRunnersWorking) {
  const Model model = Model::FromFile(ModelPath("mlp_dynamic.tflite"));
  const Batch five(5), three(3);
  BareStepLoop loop(model, "train", five.inputs());
  loop.Run(3);
  SignatureRunner train = model.runner("train");
  const auto views = three.inputs();
  std::vector<ConstTensorView> inputs(2);
  inputs[train.spec().input_index("x")] = views[0].second;
  inputs[train.spec().input_index("y")] = views[1].second;
  train.Run(inputs);  // resizes to 3
  EXPECT_TRUE(std::isfinite(*static_cast<const float*>(train.outputs()[train.spec().output_index("loss")].data)));
  loop.Run(3);  // puts its batch of 5 back
  EXPECT_TRUE(std::isfinite(Loss(loop)));
  EXPECT_EQ(loop.output("loss").shape.num_elements(), 1);
  train.Run(inputs);
  EXPECT_TRUE(std::isfinite(*static_cast<const float*>(train.outputs()[train.spec().output_index("loss")].data)));
}

TEST(BareStepLoop, RefusesBadInputsByName) {
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  const Batch batch(8), wrong(4);
  auto inputs = batch.inputs();
  inputs[0].first = "z";
  try {
    BareStepLoop loop(model, "train", inputs);
    FAIL() << "an unknown input name was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(BareStepLoop(model, "train", {batch.inputs()[0]}), InvalidArgument);       // y missing
  EXPECT_THROW(BareStepLoop(model, "train", wrong.inputs()), InvalidArgument);            // batch 4, fixed 8
  EXPECT_THROW(BareStepLoop(model, "nope", batch.inputs()), InvalidArgument);             // no signature
  BareStepLoop loop(model, "train", batch.inputs());
  EXPECT_THROW(loop.output("nope"), InvalidArgument);
  EXPECT_THROW(loop.Run(-1), InvalidArgument);
}

}  // namespace
}  // namespace litetrain
