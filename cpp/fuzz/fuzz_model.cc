// libFuzzer target: a model file from bytes to a run of every signature.
//
// Model::FromBytes verifies the bytes (model_verifier.cc) and compiles them
// with LiteRT; then each signature runs once on zeros of its declared input
// shapes (dynamic dimensions as 1). A damaged file may only raise
// ModelFormatError, or RuntimeFailure carrying LiteRT's message, and a
// consistent one InvalidArgument for what litetrain refuses (Flex ops, an
// output of a type it cannot read); a crash
// inside LiteRT (SIGSEGV), a sanitizer report or any other exception
// escaping is a finding. libLiteRt.so is not instrumented: coverage guides
// the mutations through our checker, and LiteRT's crashes show as signals.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "aligned_buffer.h"
#include "litetrain/errors.h"
#include "litetrain/model.h"
#include "litetrain/signature_runner.h"
#include "model_mutator.h"

namespace {

// A valid model may declare inputs too large to feed here; those signatures
// are skipped (not a finding: the file is consistent).
constexpr std::size_t kMaxInputBytes = 64u << 20;

void RunOnZeros(const litetrain::Model& model, const litetrain::SignatureSpec& spec) {
  std::vector<litetrain::AlignedBuffer> storage;
  std::vector<litetrain::ConstTensorView> inputs;
  std::size_t total = 0;
  for (const litetrain::TensorSpec& input : spec.inputs) {
    if (input.dtype == litetrain::DType::kUnsupported) return;  // no way to make a value
    std::vector<int64_t> dims;
    for (int d = 0; d < input.shape.rank(); ++d) dims.push_back(input.shape[d] < 0 ? 1 : input.shape[d]);
    const litetrain::Shape shape(dims.data(), static_cast<int>(dims.size()));
    const std::size_t bytes = static_cast<std::size_t>(shape.num_elements()) * litetrain::ItemSize(input.dtype);
    total += bytes;
    if (total > kMaxInputBytes) return;
    storage.emplace_back(bytes);
    std::memset(storage.back().data(), 0, bytes);
    inputs.push_back({input.dtype, shape, storage.back().data()});
  }
  model.runner(spec.key).Run(inputs);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("LITETRAIN_LITERT_LIB") == nullptr) {
    std::fprintf(stderr, "fuzz_model: set LITETRAIN_LITERT_LIB to the libLiteRt.so to test\n");
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const litetrain::Model model = litetrain::Model::FromBytes(data, size);
    for (const litetrain::SignatureSpec& spec : model.signatures()) {
      try {
        RunOnZeros(model, spec);
      } catch (const litetrain::RuntimeFailure&) {
        // A kernel refusing its inputs: the next signature may still run.
      } catch (const litetrain::InvalidArgument&) {
        // A consistent signature litetrain refuses by name (an output of a
        // type it cannot read): the next signature may still run.
      }
    }
  } catch (const litetrain::ModelFormatError&) {
  } catch (const litetrain::RuntimeFailure&) {
  } catch (const litetrain::InvalidArgument&) {
    // A consistent model litetrain refuses at load, saying why (Flex ops).
  }
  return 0;
}

// Two thirds of the mutations rewrite flatbuffer fields (model_mutator.h);
// the rest, and inputs that are no longer a model, get libFuzzer's bytes.
extern "C" std::size_t LLVMFuzzerMutate(uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  if (seed % 3 != 0 && litetrain::fuzz::MutateModelFields(data, size, seed)) return size;
  return LLVMFuzzerMutate(data, size, max_size);
}
