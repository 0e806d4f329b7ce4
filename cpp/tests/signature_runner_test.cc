#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "litetrain/errors.h"
#include "litetrain/model.h"
#include "litetrain/signature_runner.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;

// Random floats placed at a 64-byte boundary, or `shift` floats past one.
class Floats {
 public:
  explicit Floats(std::size_t n, std::size_t shift = 0) : storage_(n + 32) {
    const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
    offset_ = (64 - address % 64) % 64 / sizeof(float) + shift;
    std::mt19937 rng(0);
    std::normal_distribution<float> normal;
    for (std::size_t i = 0; i < n; ++i) storage_[offset_ + i] = normal(rng);
  }
  float* data() { return storage_.data() + offset_; }

 private:
  std::vector<float> storage_;
  std::size_t offset_;
};

std::vector<float> OneHot(int rows, int classes, unsigned seed) {
  std::vector<float> y(static_cast<std::size_t>(rows) * classes, 0.0f);
  std::mt19937 rng(seed);
  for (int r = 0; r < rows; ++r) y[static_cast<std::size_t>(r) * classes + rng() % classes] = 1.0f;
  return y;
}

std::vector<ConstTensorView> Bind(const SignatureSpec& spec, const float* x, const float* y, int64_t batch) {
  std::vector<ConstTensorView> views(spec.inputs.size());
  views[spec.input_index("x")] = {DType::kFloat32, Shape{batch, 32}, x};
  views[spec.input_index("y")] = {DType::kFloat32, Shape{batch, 4}, y};
  return views;
}

float Scalar(const ConstTensorView& view) { return *static_cast<const float*>(view.data); }

TEST(SignatureRunner, TrainingLowersTheLoss) {
  Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  SignatureRunner train = model.runner("train");
  Floats x(8 * 32);
  const auto y = OneHot(8, 4, 1);
  std::vector<float> losses;
  for (int step = 0; step < 50; ++step) {
    train.Run(Bind(train.spec(), x.data(), y.data(), 8));
    losses.push_back(Scalar(train.outputs()[train.spec().output_index("loss")]));
  }
  EXPECT_TRUE(std::isfinite(losses.front()));
  EXPECT_LT(losses.back(), 0.5f * losses.front());
}

TEST(SignatureRunner, SaveAndRestoreRoundTrip) {
  Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  SignatureRunner save = model.runner("save");
  SignatureRunner restore = model.runner("restore");
  SignatureRunner train = model.runner("train");
  save.Run(nullptr, 0);
  // Copy the initial weights out, by name.
  std::vector<std::vector<float>> initial;
  for (const auto& out : save.outputs()) {
    const float* p = static_cast<const float*>(out.data);
    initial.emplace_back(p, p + out.shape.num_elements());
  }
  Floats x(8 * 32);
  const auto y = OneHot(8, 4, 2);
  for (int step = 0; step < 5; ++step) train.Run(Bind(train.spec(), x.data(), y.data(), 8));

  std::vector<ConstTensorView> views(restore.spec().inputs.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    const std::size_t o = save.spec().output_index(restore.spec().inputs[i].name);
    views[i] = {DType::kFloat32, save.outputs()[o].shape, initial[o].data()};
  }
  restore.Run(views);
  save.Run(nullptr, 0);
  for (std::size_t o = 0; o < initial.size(); ++o) {
    const float* p = static_cast<const float*>(save.outputs()[o].data);
    EXPECT_EQ(std::vector<float>(p, p + initial[o].size()), initial[o]) << save.spec().outputs[o].name;
  }
}

TEST(SignatureRunner, AlignedInputIsUsedInPlaceOtherwiseStaged) {
  Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  SignatureRunner infer = model.runner("infer");
  Floats x(8 * 32);
  const std::size_t xi = infer.spec().input_index("x");
  std::vector<ConstTensorView> views(1);
  views[xi] = {DType::kFloat32, Shape{8, 32}, x.data()};
  infer.Run(views);
  EXPECT_EQ(infer.staged_bytes(xi), 0u);
  const std::vector<float> aligned_out(static_cast<const float*>(infer.outputs()[0].data),
                                       static_cast<const float*>(infer.outputs()[0].data) + 32);

  Floats shifted(8 * 32, /*shift=*/1);  // same values, 4 bytes past a boundary
  views[xi].data = shifted.data();
  infer.Run(views);
  EXPECT_EQ(infer.staged_bytes(xi), 8u * 32u * sizeof(float));
  const float* out = static_cast<const float*>(infer.outputs()[0].data);
  EXPECT_EQ(std::vector<float>(out, out + 32), aligned_out);
  EXPECT_THROW(infer.staged_bytes(5), OutOfRange);
}

TEST(SignatureRunner, DynamicBatchResizesAndAgreesAcrossSizes) {
  Model model = Model::FromFile(ModelPath("mlp_dynamic.tflite"));
  SignatureRunner infer = model.runner("infer");
  Floats x(8 * 32);
  infer.Run({ConstTensorView{DType::kFloat32, Shape{8, 32}, x.data()}});
  ASSERT_EQ(infer.outputs()[0].shape, (Shape{8, 4}));
  const float* big = static_cast<const float*>(infer.outputs()[0].data);
  const std::vector<float> first_rows(big, big + 3 * 4);
  infer.Run({ConstTensorView{DType::kFloat32, Shape{3, 32}, x.data()}});
  ASSERT_EQ(infer.outputs()[0].shape, (Shape{3, 4}));
  const float* small = static_cast<const float*>(infer.outputs()[0].data);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(small[i], first_rows[i], 1e-6f);
}

TEST(SignatureRunner, TwoRunnersOfOneSignatureKeepTheirOwnBatch) {
  Model model = Model::FromFile(ModelPath("mlp_dynamic.tflite"));
  SignatureRunner a = model.runner("infer");
  SignatureRunner b = model.runner("infer");
  Floats x(8 * 32);
  for (int round = 0; round < 3; ++round) {
    a.Run({ConstTensorView{DType::kFloat32, Shape{8, 32}, x.data()}});
    EXPECT_EQ(a.outputs()[0].shape, (Shape{8, 4}));
    b.Run({ConstTensorView{DType::kFloat32, Shape{2, 32}, x.data()}});
    EXPECT_EQ(b.outputs()[0].shape, (Shape{2, 4}));
  }
}

class RunnerValidation : public ::testing::Test {
 protected:
  Model model = Model::FromFile(ModelPath("mlp_dynamic.tflite"));
  SignatureRunner infer = model.runner("infer");
  Floats x{8 * 32};

  std::string ErrorOf(const ConstTensorView& view) {
    try {
      infer.Run({view});
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(RunnerValidation, WrongDtypeNamesInputAndTypes) {
  const std::string message = ErrorOf({DType::kInt32, Shape{8, 32}, x.data()});
  EXPECT_NE(message.find("'x'"), std::string::npos) << message;
  EXPECT_NE(message.find("float32"), std::string::npos) << message;
  EXPECT_NE(message.find("int32"), std::string::npos) << message;
}

TEST_F(RunnerValidation, WrongRankAndWrongStaticDim) {
  EXPECT_NE(ErrorOf({DType::kFloat32, Shape{256}, x.data()}).find("rank 2"), std::string::npos);
  EXPECT_NE(ErrorOf({DType::kFloat32, Shape{8, 31}, x.data()}).find("[-1, 32]"), std::string::npos);
}

TEST_F(RunnerValidation, ZeroBatchAndNullDataAreRefused) {
  EXPECT_NE(ErrorOf({DType::kFloat32, Shape{0, 32}, x.data()}), "no error");
  EXPECT_NE(ErrorOf({DType::kFloat32, Shape{8, 32}, nullptr}).find("null"), std::string::npos);
}

TEST_F(RunnerValidation, WrongInputCount) { EXPECT_THROW(infer.Run(nullptr, 0), InvalidArgument); }

}  // namespace
}  // namespace litetrain
