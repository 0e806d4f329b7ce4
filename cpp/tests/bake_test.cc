#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "flatbuffer/model_file.h"
#include "flatbuffer/model_graph.h"
#include "litetrain/bake.h"
#include "litetrain/compatibility.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"
#include "litetrain/trainer.h"
#include "test_models.h"
#include "transpose.h"

namespace litetrain {
namespace {

using testing::ModelPath;
using testing::ReadBytes;

// n samples for the MLPs (32 inputs, 4 classes): random inputs, one-hot labels.
using Data = testing::MlpData;

// A model trained for a few epochs, and its weights.
struct Trained {
  explicit Trained(const std::string& file) : model(Model::FromFile(ModelPath(file))), trainer(model) {
    FitOptions options;
    options.batch_size = 8;
    options.epochs = 3;
    trainer.Fit(Data().dataset(), options);
    weights = trainer.TakeSnapshot();
  }
  Model model;
  Trainer trainer;
  Snapshot weights;
};

bool SameBytes(const NamedTensor& a, const NamedTensor& b) {
  return a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes;
}

void ExpectSameTensors(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(SameBytes(a[i], b[i])) << a[i].name;
}

std::set<std::string> Keys(const Model& model) {
  std::set<std::string> keys;
  for (const auto& s : model.signatures()) keys.insert(s.key);
  return keys;
}

std::vector<uint8_t> Pack(const fb::ModelT& tree, bool appended = false) {
  WriteModelOptions options;
  options.force_appended_buffers = appended;
  return WriteModelTree(tree, options);
}

class BakeEachModel : public ::testing::TestWithParam<const char*> {};

TEST_P(BakeEachModel, FreshModelStartsFromTheWeightsAndKeepsTraining) {
  Trained t(GetParam());
  BakeReport report;
  const std::vector<uint8_t> bytes = BakeModel(t.model, t.weights, {}, &report);
  EXPECT_EQ(report.variables.size(), t.weights.size());
  EXPECT_EQ(report.infer_difference, -1.0);
  Model baked = Model::FromBytes(bytes.data(), bytes.size());
  EXPECT_EQ(Keys(baked), Keys(t.model));
  Trainer fresh(baked);
  ExpectSameTensors(fresh.TakeSnapshot(), t.weights);

  const Data probe(16, 9);
  ExpectSameTensors(fresh.Predict(probe.inputs(), 8), t.trainer.Predict(probe.inputs(), 8));

  // Training goes on from there: the same steps give the same losses.
  FitOptions more;
  more.batch_size = 8;
  more.epochs = 2;
  more.initial_epoch = 3;
  EXPECT_EQ(fresh.Fit(Data().dataset(), more).losses, t.trainer.Fit(Data().dataset(), more).losses);
}

TEST_P(BakeEachModel, InferenceOnlyKeepsInferWithConstantWeightsAndNothingElse) {
  Trained t(GetParam());
  BakeReport report;
  const std::vector<uint8_t> bytes = BakeModel(
      t.model, t.weights,
      [] {
        BakeOptions o;
        o.inference_only = true;
        return o;
      }(),
      &report);
  EXPECT_EQ(report.variables.size(), t.weights.size());
  EXPECT_EQ(report.infer_difference, 0.0);  // BATCH_MATMUL: the same kernel for constants and variables
  Model frozen = Model::FromBytes(bytes.data(), bytes.size());
  EXPECT_EQ(Keys(frozen), std::set<std::string>{"infer"});
  EXPECT_LT(bytes.size(), t.model.file_size());

  std::set<std::string> ops;
  for (const OperatorUse& use : ListOperators(bytes.data(), bytes.size())) {
    ops.insert(use.name);
    EXPECT_EQ(use.signatures, std::vector<std::string>{"infer"}) << use.name << " is declared but unused";
  }
  for (const char* gone : {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE", "SOFTMAX"}) {
    EXPECT_EQ(ops.count(gone), 0u) << gone;
  }
  auto tree = ReadModelTree(bytes.data(), bytes.size());
  ASSERT_EQ(tree->subgraphs.size(), 1u);  // infer is the main subgraph
  const auto& tensors = tree->subgraphs[0]->tensors;
  std::size_t weight_bytes = 0;
  for (const NamedTensor& w : t.weights) weight_bytes += w.bytes.size();
  std::size_t constant_bytes = 0;
  std::set<uint32_t> used{0};
  for (const auto& tensor : tensors) {
    EXPECT_NE(tensor->type, fb::TensorType::RESOURCE) << tensor->name;
    if (used.insert(tensor->buffer).second) constant_bytes += tree->buffers[tensor->buffer]->data.size();
  }
  EXPECT_EQ(used.size() + tree->metadata.size(), tree->buffers.size());  // no buffer left unused
  EXPECT_EQ(constant_bytes, weight_bytes);  // the weights, no optimizer state, no init copies

  // Same answers as the trainer's, bit for bit; the batch stays as the model has it.
  const Data probe(16, 9);
  SignatureRunner infer = frozen.runner("infer");
  const auto expected = t.trainer.Predict(probe.inputs(), 8);
  const int64_t batch = frozen.signature("infer").inputs[0].shape[0] < 0 ? 16 : 8;
  infer.Run({{DType::kFloat32, Shape{batch, 32}, probe.x.data()}});
  ASSERT_EQ(infer.outputs()[0].byte_size(), static_cast<std::size_t>(batch) * 4 * sizeof(float));
  EXPECT_EQ(std::memcmp(infer.outputs()[0].data, expected[0].bytes.data(), infer.outputs()[0].byte_size()), 0);
}

INSTANTIATE_TEST_SUITE_P(Models, BakeEachModel,
                         ::testing::Values("mlp_fixed.tflite", "mlp_dynamic.tflite", "mlp_shared_init.tflite"));

TEST(Transpose, PermutesDimensionsAsTfliteDoes) {
  // a[i][j][k] = 100i + 10j + k, shape [2, 3, 4]; out = transpose(a, {2, 0, 1}) has shape [4, 2, 3].
  std::vector<int32_t> a(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) a[static_cast<std::size_t>(i * 12 + j * 4 + k)] = 100 * i + 10 * j + k;
  const std::vector<uint8_t> bytes =
      TransposeBytes(reinterpret_cast<const uint8_t*>(a.data()), {2, 3, 4}, {2, 0, 1}, 4);
  std::vector<int32_t> out(24);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(out[static_cast<std::size_t>(k * 6 + i * 3 + j)], 100 * i + 10 * j + k);
  const std::vector<uint8_t> scalar = TransposeBytes(reinterpret_cast<const uint8_t*>(a.data()), {}, {}, 4);
  EXPECT_EQ(scalar.size(), 4u);
}

TEST(Bake, EqualInitialValuesSharedByTheConverterGetTheirOwnWeights) {
  // b0 and b1 start equal, so the converter stores one constant for both.
  Model model = Model::FromFile(ModelPath("mlp_shared_init.tflite"));
  Snapshot weights = Trainer(model).TakeSnapshot();
  for (NamedTensor& w : weights) {
    float* values = reinterpret_cast<float*>(w.bytes.data());
    for (std::size_t i = 0; i < w.bytes.size() / sizeof(float); ++i)
      values[i] = static_cast<float>(w.name[0] + w.name[1] + i);
  }
  const std::vector<uint8_t> bytes = BakeModel(model, weights);
  ExpectSameTensors(Trainer(Model::FromBytes(bytes.data(), bytes.size())).TakeSnapshot(), weights);
}

TEST(Bake, AVariableTheInitializerNeverSetsGetsAnAssignment) {
  // As a converter that lost a variable's initial value would leave it.
  const std::vector<uint8_t> original = ReadBytes(ModelPath("mlp_fixed.tflite"));
  const Snapshot weights = Trained("mlp_fixed.tflite").weights;
  auto tree = ReadModelTree(original.data(), original.size());
  int32_t init = -1;
  for (auto& op : tree->subgraphs[0]->operators) {
    if (auto* o = op->builtin_options.AsCallOnceOptions()) init = o->init_subgraph_index;
  }
  ASSERT_GE(init, 0);
  auto& ops = tree->subgraphs[static_cast<std::size_t>(init)]->operators;
  const std::size_t before = ops.size();
  ops.erase(std::remove_if(ops.begin(), ops.end(),
                           [&](const auto& op) { return graph::BuiltinCode(*tree, *op) == builtin::kAssignVariable; }),
            ops.end());
  ASSERT_LT(ops.size(), before);
  const std::vector<uint8_t> broken = Pack(*tree);
  const std::vector<uint8_t> bytes = BakeModel(broken.data(), broken.size(), weights);
  ExpectSameTensors(Trainer(Model::FromBytes(bytes.data(), bytes.size())).TakeSnapshot(), weights);
}

TEST(ModelFile, RewritingKeepsEveryPresentListAndTheAnswers) {
  const std::vector<uint8_t> original = ReadBytes(ModelPath("mlp_dynamic.tflite"));
  const std::vector<uint8_t> rewritten = Pack(*ReadModelTree(original.data(), original.size()));
  const fb::Model& a = *fb::GetModel(original.data());
  const fb::Model& b = *fb::GetModel(rewritten.data());
  ASSERT_EQ(a.signature_defs()->size(), b.signature_defs()->size());
  for (uint32_t i = 0; i < a.signature_defs()->size(); ++i) {
    // tflite-runtime 2.14 refuses a signature whose (empty) input list is absent
    EXPECT_EQ(a.signature_defs()->Get(i)->inputs() != nullptr, b.signature_defs()->Get(i)->inputs() != nullptr);
  }
  ASSERT_EQ(a.subgraphs()->size(), b.subgraphs()->size());
  for (uint32_t s = 0; s < a.subgraphs()->size(); ++s) {
    const auto* ta = a.subgraphs()->Get(s)->tensors();
    const auto* tb = b.subgraphs()->Get(s)->tensors();
    ASSERT_EQ(ta->size(), tb->size());
    for (uint32_t t = 0; t < ta->size(); ++t) {
      EXPECT_EQ(ta->Get(t)->shape() != nullptr, tb->Get(t)->shape() != nullptr) << "subgraph " << s << " tensor " << t;
      EXPECT_EQ(ta->Get(t)->shape_signature() != nullptr, tb->Get(t)->shape_signature() != nullptr);
    }
    const auto* oa = a.subgraphs()->Get(s)->operators();
    const auto* ob = b.subgraphs()->Get(s)->operators();
    for (uint32_t o = 0; o < oa->size(); ++o) {
      EXPECT_EQ(oa->Get(o)->inputs() != nullptr, ob->Get(o)->inputs() != nullptr);
      EXPECT_EQ(oa->Get(o)->outputs() != nullptr, ob->Get(o)->outputs() != nullptr);
    }
  }
  Model before = Model::FromBytes(original.data(), original.size());
  Model after = Model::FromBytes(rewritten.data(), rewritten.size());
  ExpectSameTensors(Trainer(after).TakeSnapshot(), Trainer(before).TakeSnapshot());
}

TEST(ModelFile, DataAfterTheFlatbufferLoadsRunsAndBakes) {
  // The layout of files over 2 GB, forced on a small model.
  const std::vector<uint8_t> original = ReadBytes(ModelPath("mlp_fixed.tflite"));
  const std::vector<uint8_t> appended = Pack(*ReadModelTree(original.data(), original.size()), /*appended=*/true);
  const fb::Model& root = *fb::GetModel(appended.data());
  std::size_t placed = 0;
  for (const fb::Buffer* buffer : *root.buffers()) {
    EXPECT_EQ(buffer->data(), nullptr);
    if (buffer->offset() > 1) {
      EXPECT_EQ(buffer->offset() % 64, 0u);
      ++placed;
    }
  }
  EXPECT_GT(placed, 4u);
  Trained t("mlp_fixed.tflite");
  Model model = Model::FromBytes(appended.data(), appended.size());
  ExpectSameTensors(Trainer(model).TakeSnapshot(),
                    Trainer(Model::FromFile(ModelPath("mlp_fixed.tflite"))).TakeSnapshot());
  const std::vector<uint8_t> bytes = BakeModel(appended.data(), appended.size(), t.weights);
  ExpectSameTensors(Trainer(Model::FromBytes(bytes.data(), bytes.size())).TakeSnapshot(), t.weights);
}

TEST(Bake, RefusesWeightsThatDoNotFitTheModel) {
  Trained t("mlp_fixed.tflite");
  auto expect_refusal = [&](Snapshot weights, const std::string& text) {
    try {
      BakeModel(t.model, weights);
      ADD_FAILURE() << "accepted weights that should fail with: " << text;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  Snapshot missing = t.weights;
  missing.pop_back();
  expect_refusal(missing, "the weights lack variable '" + t.weights.back().name + "'");
  Snapshot extra = t.weights;
  extra.push_back(extra[0]);
  extra.back().name = "head/kernel";
  expect_refusal(extra, "the weights hold 'head/kernel', which the model's 'save' does not return");
  Snapshot reshaped = t.weights;
  reshaped[0].shape = Shape{static_cast<int64_t>(reshaped[0].bytes.size() / 4)};
  expect_refusal(reshaped, "variable '" + t.weights[0].name + "' is float32[");
  Snapshot retyped = t.weights;
  retyped[0].dtype = DType::kInt32;
  expect_refusal(retyped, "in the weights but float32");
  Snapshot doubled = t.weights;
  doubled.push_back(doubled[0]);
  expect_refusal(doubled, "twice");
}

TEST(Bake, RefusesWhatIsNotATrainingModel) {
  Trained t("mlp_fixed.tflite");
  BakeOptions inference;
  inference.inference_only = true;
  const std::vector<uint8_t> frozen = BakeModel(t.model, t.weights, inference);
  try {
    BakeModel(frozen.data(), frozen.size(), t.weights);
    ADD_FAILURE() << "baked an inference-only model";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("not a litetrain training model: it has no 'save' signature"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("its signatures: 'infer'"), std::string::npos) << e.what();
  }
  BakeOptions other_save;
  other_save.save_signature = "infer";  // takes inputs
  EXPECT_THROW(BakeModel(t.model, t.weights, other_save), InvalidArgument);
  BakeOptions eval_as_save;
  eval_as_save.save_signature = "train";
  EXPECT_THROW(BakeModel(t.model, t.weights, eval_as_save), InvalidArgument);

  std::vector<uint8_t> damaged(t.model.file_size());
  std::memcpy(damaged.data(), t.model.file_data(), damaged.size());
  damaged.resize(damaged.size() / 2);
  EXPECT_THROW(BakeModel(damaged.data(), damaged.size(), t.weights), ModelFormatError);
}

// Every entry of a folder, hidden ones (temporary files) included.
std::vector<std::string> Entries(const std::string& folder) {
  std::vector<std::string> names;
  DIR* dir = opendir(folder.c_str());
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  return names;
}

TEST(Bake, WritesFilesAtomicallyAndOnlyWhenBakingWorked) {
  Trained t("mlp_fixed.tflite");
  char folder_template[] = "/tmp/litetrain-bake-XXXXXX";
  const std::string folder = mkdtemp(folder_template);
  const std::string path = folder + "/baked.tflite";
  BakeModelToFile(t.model, t.weights, path);
  EXPECT_EQ(ReadBytes(path), BakeModel(t.model, t.weights));
  EXPECT_EQ(Entries(folder), std::vector<std::string>{"baked.tflite"});  // no temporary file left

  Snapshot wrong = t.weights;
  wrong.pop_back();
  const std::string other = folder + "/other.tflite";
  EXPECT_THROW(BakeModelToFile(t.model, wrong, other), InvalidArgument);
  EXPECT_EQ(Entries(folder), std::vector<std::string>{"baked.tflite"});
  EXPECT_THROW(BakeModelToFile(t.model, t.weights, folder + "/missing/baked.tflite"), FileNotFound);
  EXPECT_THROW(BakeModelToFile(t.model, t.weights, folder), InvalidArgument);  // a folder
  std::remove(path.c_str());
  rmdir(folder.c_str());
}

TEST(Compatibility, ListsOperatorsWithTheSignaturesThatRunThem) {
  const std::vector<uint8_t> bytes = ReadBytes(ModelPath("mlp_fixed.tflite"));
  bool found = false;
  for (const OperatorUse& use : ListOperators(bytes.data(), bytes.size())) {
    if (use.name == "ASSIGN_VARIABLE") {
      found = true;
      EXPECT_EQ(use.builtin_code, 144);
      // restore and train assign; every signature runs the initializer, which assigns too
      EXPECT_EQ(use.signatures.size(), 5u);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(FindIncompatibilities(bytes.data(), bytes.size(), "tflite-runtime-2.14").empty());
  EXPECT_THROW(FindIncompatibilities(bytes.data(), bytes.size(), "tflite-runtime-1.0"), InvalidArgument);
}

TEST(Compatibility, BakeNamesOperatorsTooNewForTheRuntimeAndOffersTheInferenceForm) {
  // FULLY_CONNECTED runs only in `train` here; version 12 (dynamic-range
  // quantized, per channel) is newer than tflite-runtime 2.14's 10. LiteRT
  // runs a float FULLY_CONNECTED at any version it registers.
  const std::vector<uint8_t> original = ReadBytes(ModelPath("mlp_fixed.tflite"));
  auto tree = ReadModelTree(original.data(), original.size());
  for (auto& code : tree->operator_codes) {
    if (code->builtin_code == 9) code->version = 12;
  }
  const std::vector<uint8_t> newer = Pack(*tree);
  const auto problems = FindIncompatibilities(newer.data(), newer.size(), "tflite-runtime-2.14");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].op.name, "FULLY_CONNECTED");
  EXPECT_EQ(problems[0].max_version, 10);
  EXPECT_EQ(DescribeIncompatibilities(problems),
            "FULLY_CONNECTED version 12 (it has up to version 10), used by 'train'");

  const Snapshot weights = Trainer(Model::FromBytes(newer.data(), newer.size())).TakeSnapshot();
  BakeOptions options;
  options.require_runtime = "tflite-runtime-2.14";
  try {
    BakeModel(newer.data(), newer.size(), weights, options);
    ADD_FAILURE() << "baked a model tflite-runtime 2.14 cannot load";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("tflite-runtime-2.14 cannot load the baked model: FULLY_CONNECTED version 12"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("its inference-only form loads there"), std::string::npos) << e.what();
  }
  options.inference_only = true;
  const std::vector<uint8_t> frozen = BakeModel(newer.data(), newer.size(), weights, options);
  EXPECT_TRUE(FindIncompatibilities(frozen.data(), frozen.size(), "tflite-runtime-2.14").empty());
}

}  // namespace
}  // namespace litetrain
