// Checks our declarations of LiteRT's C API (src/litert/c_api.h) against the
// library we pin, by calling every one of them on a real model: a wrong
// parameter list or struct layout shows up here as a failure or a crash,
// not in a user's training run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "aligned_buffer.h"
#include "litert/library.h"
#include "test_models.h"

namespace litetrain {
namespace {

using litert::Api;

#define ASSERT_OK(call) ASSERT_EQ((call), kLiteRtStatusOk) << #call

class LiteRtApi : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = litert::LoadApi("");
    const auto file = testing::ReadBytes(testing::ModelPath("mlp_dynamic.tflite"));
    bytes_ = AlignedBuffer(file.size());
    std::memcpy(bytes_.data(), file.data(), file.size());
  }
  std::shared_ptr<const Api> api_;
  AlignedBuffer bytes_;
};

TEST_F(LiteRtApi, EveryFunctionResolves) {
#define LITETRAIN_EXPECT_RESOLVED(name) EXPECT_NE(api_->name, nullptr) << #name;
  LITETRAIN_LITERT_FUNCTIONS(LITETRAIN_EXPECT_RESOLVED)
#undef LITETRAIN_EXPECT_RESOLVED
}

TEST_F(LiteRtApi, EveryDeclarationWorksOnARealModel) {
  const Api& api = *api_;
  LiteRtEnvOption option{};
  option.tag = kLiteRtEnvOptionTagMinLoggerSeverity;
  option.value.type = kLiteRtAnyTypeInt;
  option.value.int_value = kLiteRtLogSeveritySilent;
  LiteRtEnvironment env = nullptr;
  ASSERT_OK(api.LiteRtCreateEnvironment(1, &option, &env));
  LiteRtModel model = nullptr;
  ASSERT_OK(api.LiteRtCreateModelFromBuffer(env, bytes_.data(), bytes_.size(), &model));

  // Signatures, subgraphs, tensors.
  LiteRtParamIndex num_signatures = 0;
  ASSERT_OK(api.LiteRtGetNumModelSignatures(model, &num_signatures));
  ASSERT_EQ(num_signatures, 5u);
  LiteRtParamIndex infer_index = num_signatures;
  LiteRtSignature infer = nullptr;
  for (LiteRtParamIndex s = 0; s < num_signatures; ++s) {
    LiteRtSignature signature = nullptr;
    const char* key = nullptr;
    ASSERT_OK(api.LiteRtGetModelSignature(model, s, &signature));
    ASSERT_OK(api.LiteRtGetSignatureKey(signature, &key));
    if (std::string(key) == "infer") {
      infer_index = s;
      infer = signature;
    }
  }
  ASSERT_NE(infer, nullptr);
  LiteRtSubgraph subgraph = nullptr;
  LiteRtParamIndex num_ops = 0;
  ASSERT_OK(api.LiteRtGetSignatureSubgraph(infer, &subgraph));
  ASSERT_OK(api.LiteRtGetNumSubgraphOps(subgraph, &num_ops));
  EXPECT_GT(num_ops, 0u);
  LiteRtParamIndex n = 0;
  ASSERT_OK(api.LiteRtGetNumSignatureInputs(infer, &n));
  ASSERT_EQ(n, 1u);
  const char* name = nullptr;
  LiteRtTensor tensor = nullptr;
  ASSERT_OK(api.LiteRtGetSignatureInputName(infer, 0, &name));
  EXPECT_STREQ(name, "x");
  ASSERT_OK(api.LiteRtGetSignatureInputTensorByIndex(infer, 0, &tensor));
  LiteRtTensorTypeId type_id{};
  ASSERT_OK(api.LiteRtGetTensorTypeId(tensor, &type_id));
  ASSERT_EQ(type_id, kLiteRtRankedTensorType);
  LiteRtRankedTensorType ranked{};
  ASSERT_OK(api.LiteRtGetRankedTensorType(tensor, &ranked));
  EXPECT_EQ(ranked.element_type, kLiteRtElementTypeFloat32);
  ASSERT_EQ(ranked.layout.rank, 2u);
  EXPECT_EQ(ranked.layout.dimensions[0], -1);  // dynamic batch
  EXPECT_EQ(ranked.layout.dimensions[1], 32);
  LiteRtUnrankedTensorType unranked{};
  // A ranked tensor has no unranked type: the call must refuse, not crash.
  EXPECT_EQ(api.LiteRtGetUnrankedTensorType(tensor, &unranked), kLiteRtStatusErrorInvalidIrType);
  ASSERT_OK(api.LiteRtGetNumSignatureOutputs(infer, &n));
  ASSERT_EQ(n, 1u);
  ASSERT_OK(api.LiteRtGetSignatureOutputName(infer, 0, &name));
  EXPECT_STREQ(name, "logits");
  ASSERT_OK(api.LiteRtGetSignatureOutputTensorByIndex(infer, 0, &tensor));

  // Options and compilation.
  LiteRtOptions options = nullptr;
  ASSERT_OK(api.LiteRtCreateOptions(&options));
  ASSERT_OK(api.LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu));
  static const char kToml[] = "num_threads = 1\n";
  char* payload = static_cast<char*>(std::malloc(sizeof(kToml)));
  std::memcpy(payload, kToml, sizeof(kToml));
  LiteRtOpaqueOptions opaque = nullptr;
  ASSERT_OK(api.LiteRtCreateOpaqueOptions("xnnpack", payload, std::free, &opaque));
  ASSERT_OK(api.LiteRtAddOpaqueOptions(options, opaque));
  LiteRtOpaqueOptions unused = nullptr;
  char* unused_payload = static_cast<char*>(std::malloc(1));
  ASSERT_OK(api.LiteRtCreateOpaqueOptions("litetrain_test", unused_payload, std::free, &unused));
  api.LiteRtDestroyOpaqueOptions(unused);
  LiteRtCompiledModel compiled = nullptr;
  ASSERT_OK(api.LiteRtCreateCompiledModel(env, model, options, &compiled));
  api.LiteRtDestroyOptions(options);

  // Resize the dynamic batch to 3 and size the buffers from the runtime.
  const int dims[] = {3, 32};
  ASSERT_OK(api.LiteRtCompiledModelResizeInputTensor(compiled, infer_index, 0, dims, 2));
  LiteRtLayout layout{};
  ASSERT_OK(api.LiteRtGetCompiledModelOutputTensorLayouts(compiled, infer_index, 1, &layout, true));
  ASSERT_EQ(layout.rank, 2u);
  EXPECT_EQ(layout.dimensions[0], 3);
  EXPECT_EQ(layout.dimensions[1], 4);
  LiteRtTensorBufferRequirements requirements = nullptr;
  size_t in_size = 0, out_size = 0;
  ASSERT_OK(api.LiteRtGetCompiledModelInputBufferRequirements(compiled, infer_index, 0, &requirements));
  ASSERT_OK(api.LiteRtGetTensorBufferRequirementsBufferSize(requirements, &in_size));
  EXPECT_GE(in_size, 3u * 32u * sizeof(float));
  ASSERT_OK(api.LiteRtGetCompiledModelOutputBufferRequirements(compiled, infer_index, 0, &requirements));
  ASSERT_OK(api.LiteRtGetTensorBufferRequirementsBufferSize(requirements, &out_size));
  EXPECT_GE(out_size, 3u * 4u * sizeof(float));

  AlignedBuffer in_memory(in_size), out_memory(out_size);
  std::memset(in_memory.data(), 0, in_size);
  LiteRtRankedTensorType in_type{};
  in_type.element_type = kLiteRtElementTypeFloat32;
  in_type.layout.rank = 2;
  in_type.layout.dimensions[0] = 3;
  in_type.layout.dimensions[1] = 32;
  LiteRtRankedTensorType out_type = in_type;
  out_type.layout.dimensions[1] = 4;
  LiteRtTensorBuffer in_buffer = nullptr, out_buffer = nullptr;
  ASSERT_OK(api.LiteRtCreateTensorBufferFromHostMemory(&in_type, in_memory.data(), in_size, nullptr, &in_buffer));
  ASSERT_OK(api.LiteRtCreateTensorBufferFromHostMemory(&out_type, out_memory.data(), out_size, nullptr, &out_buffer));
  LiteRtRankedTensorType back{};
  size_t size = 0;
  void* host = nullptr;
  ASSERT_OK(api.LiteRtGetTensorBufferTensorType(in_buffer, &back));
  EXPECT_EQ(back.layout.dimensions[0], 3);
  ASSERT_OK(api.LiteRtGetTensorBufferSize(in_buffer, &size));
  EXPECT_EQ(size, in_size);
  ASSERT_OK(api.LiteRtGetTensorBufferHostMemory(in_buffer, &host));
  EXPECT_EQ(host, in_memory.data());

  ASSERT_OK(api.LiteRtRunCompiledModel(compiled, infer_index, 1, &in_buffer, 1, &out_buffer));
  // Zero input: the logits are the output layer's bias terms, all finite.
  const float* logits = static_cast<const float*>(out_memory.data());
  for (int i = 0; i < 12; ++i) EXPECT_TRUE(std::isfinite(logits[i]));

  // Without the buffer error reporter selected there are no messages, but
  // both calls must accept their arguments.
  char* messages = nullptr;
  const LiteRtStatus status = api.LiteRtCompiledModelGetErrorMessages(compiled, &messages);
  if (status == kLiteRtStatusOk) std::free(messages);
  api.LiteRtCompiledModelClearErrors(compiled);

  api.LiteRtDestroyTensorBuffer(in_buffer);
  api.LiteRtDestroyTensorBuffer(out_buffer);
  api.LiteRtDestroyCompiledModel(compiled);
  api.LiteRtDestroyModel(model);
  api.LiteRtDestroyEnvironment(env);
}

}  // namespace
}  // namespace litetrain
