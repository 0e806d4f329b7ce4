#include <gtest/gtest.h>

#include <string>

#include "litetrain/cpu_options.h"
#include "litetrain/errors.h"
#include "litetrain/model.h"
#include "litetrain/profile.h"
#include "test_models.h"

namespace litetrain {
namespace {

using testing::ModelPath;

TEST(CpuOptions, WritesTheTomlLiteRtReads) {
  CpuOptions options;
  EXPECT_EQ(CpuOptionsToml(options), "flags = 11\n");
  options.threads = 2;
  options.kernel_mode = KernelMode::kBuiltin;
  options.weight_cache_path = "/tmp/w.cache";
  EXPECT_EQ(CpuOptionsToml(options),
            "num_threads = 2\nflags = 11\nkernel_mode = \"builtin\"\nweight_cache_file_path = \"/tmp/w.cache\"\n");
}

TEST(CpuOptions, RefusesWhatLiteRtWouldMisread) {
  CpuOptions unknown_bits;
  unknown_bits.xnnpack_flags = 0x1000;
  EXPECT_THROW(CpuOptionsToml(unknown_bits), InvalidArgument);
  CpuOptions quoted;
  quoted.weight_cache_path = "a\"\nflags = 0";
  EXPECT_THROW(CpuOptionsToml(quoted), InvalidArgument);
  EXPECT_EQ(KernelModeFromName("reference"), KernelMode::kReference);
  EXPECT_THROW(KernelModeFromName("gpu"), InvalidArgument);
}

std::size_t FullyConnectedOutside(const SignatureProfile& profile) {
  std::size_t count = 0;
  for (const OperatorProfile& op : profile.operators) count += op.op == "FULLY_CONNECTED" && !op.in_xnnpack;
  return count;
}

TEST(Profile, ShowsTrainableDenseLayersInsideXnnpackByDefault) {
  ModelOptions options;
  options.profiling = true;
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"), options);
  const SignatureProfile profile = ProfileSignature(model, "train", 3);
  EXPECT_EQ(profile.operators.size(), model.signature("train").num_ops);
  EXPECT_EQ(FullyConnectedOutside(profile), 0u) << DescribeProfile(profile);
  EXPECT_FALSE(profile.xnnpack_operators.empty());

  options.cpu.xnnpack_flags = xnnpack_flags::kQs8 | xnnpack_flags::kQu8;
  const Model without = Model::FromFile(ModelPath("mlp_fixed.tflite"), options);
  const SignatureProfile fallback = ProfileSignature(without, "train", 3);
  EXPECT_GT(FullyConnectedOutside(fallback), 0u) << DescribeProfile(fallback);
  EXPECT_NE(DescribeProfile(fallback).find("DYNAMIC_FULLY_CONNECTED flag is off"), std::string::npos);
}

TEST(Profile, NeedsAProfilingModel) {
  const Model model = Model::FromFile(ModelPath("mlp_fixed.tflite"));
  EXPECT_THROW(ProfileSignature(model, "train", 1), InvalidArgument);
  ModelOptions options;
  options.profiling = true;
  const Model profiling = Model::FromFile(ModelPath("mlp_fixed.tflite"), options);
  EXPECT_THROW(ProfileSignature(profiling, "train", 0), InvalidArgument);
  EXPECT_THROW(ProfileSignature(profiling, "nope", 1), InvalidArgument);
}

}  // namespace
}  // namespace litetrain
