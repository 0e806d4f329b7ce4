#include <gtest/gtest.h>

#include <string>

#include "litetrain/errors.h"
#include "litetrain/model.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;
using testing::ReadBytes;

TEST(Model, ListsSignaturesWithTypesAndShapes) {
  Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  const SignatureSpec& train = model.signature("train");
  ASSERT_EQ(train.inputs.size(), 2u);
  const TensorSpec& x = train.inputs[train.input_index("x")];
  const TensorSpec& y = train.inputs[train.input_index("y")];
  EXPECT_EQ(x.dtype, DType::kFloat32);
  EXPECT_EQ(x.shape, (Shape{8, 32}));
  EXPECT_EQ(y.shape, (Shape{8, 4}));
  ASSERT_EQ(train.outputs.size(), 2u);
  EXPECT_EQ(train.outputs[train.output_index("loss")].shape.rank(), 0);
  EXPECT_EQ(train.outputs[train.output_index("accuracy")].dtype, DType::kFloat32);
  EXPECT_GT(train.num_ops, 0u);
  for (const char* key : {"train", "infer", "save", "restore"}) {
    EXPECT_NO_THROW(model.signature(key)) << key;
  }
}

TEST(Model, ReportsDynamicDimensionsAsMinusOne) {
  Model model = Model::FromFile(ModelPath("mlp_dynamic.tflite"));
  const SignatureSpec& infer = model.signature("infer");
  EXPECT_EQ(infer.inputs[infer.input_index("x")].shape, (Shape{-1, 32}));
}

TEST(Model, LoadsFromBytesLikeFromFile) {
  const auto bytes = ReadBytes(ModelPath("mlp_fixed.tflite"));
  Model model = Model::FromBytes(bytes.data(), bytes.size());
  EXPECT_EQ(model.signatures().size(), Model::FromFile(ModelPath("mlp_fixed.tflite")).signatures().size());
}

TEST(Model, UnknownSignatureNamesTheAvailableOnes) {
  Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  try {
    model.signature("fit");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'fit'"), std::string::npos) << message;
    EXPECT_NE(message.find("'train'"), std::string::npos) << message;
  }
}

TEST(Model, UnknownInputNameIsInvalidArgument) {
  Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  EXPECT_THROW(model.signature("train").input_index("z"), InvalidArgument);
}

TEST(Model, MissingFileIsFileNotFound) { EXPECT_THROW(Model::FromFile("/nonexistent/model.tflite"), FileNotFound); }

TEST(Model, DirectoryIsInvalidArgument) { EXPECT_THROW(Model::FromFile("/tmp"), InvalidArgument); }

TEST(Model, GarbageIsModelFormatError) {
  const std::string junk(4096, 'x');
  EXPECT_THROW(Model::FromBytes(junk.data(), junk.size()), ModelFormatError);
  EXPECT_THROW(Model::FromBytes(nullptr, 0), ModelFormatError);
}

TEST(Model, NegativeThreadsIsInvalidArgument) {
  EXPECT_THROW(Model::FromFile(ModelPath("mlp_fixed.tflite"), ModelOptions{CpuOptions{-1}}), InvalidArgument);
}

TEST(Model, ThreadsOptionIsAccepted) {
  Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"), ModelOptions{CpuOptions{2}});
  EXPECT_EQ(model.threads(), 2);
}

TEST(Model, MissingLibraryIsLibraryErrorNamingThePath) {
  try {
    Model::FromFile(ModelPath("mlp_fixed.tflite"), ModelOptions{CpuOptions{}, false, "/nonexistent/libLiteRt.so"});
    FAIL() << "expected LibraryError";
  } catch (const LibraryError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/nonexistent/libLiteRt.so"), std::string::npos) << message;
    EXPECT_NE(message.find("ai-edge-litert"), std::string::npos) << message;
  }
}

TEST(Model, LibraryWithoutTheApiIsLibraryError) {
  // libm loads fine but exports none of LiteRT's functions.
  EXPECT_THROW(Model::FromFile(ModelPath("mlp_fixed.tflite"), ModelOptions{CpuOptions{}, false, "libm.so.6"}),
               LibraryError);
}

}  // namespace
}  // namespace litetrain
