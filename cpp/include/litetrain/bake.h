// Baking: trained weights written into a model file as its initial values,
// with no TensorFlow, by rewriting the model's flatbuffer.
//
// A litetrain training model keeps its weights in resource variables that an
// initializer subgraph (run once, through CALL_ONCE) fills from constants.
// Baking replaces those constants with the given weights, so that the new
// file starts where the training left off: the same signatures, ready to keep
// training, and its `infer` signature serves as the deployable model. The
// inference-only form goes further: only `infer` is kept, the variables it
// reads become constants, and no variable, optimizer state, initializer or
// unused tensor, buffer or operator code is left: a plain inference .tflite
// that any TFLite runtime runs.
//
// Every result is checked before it is returned: it is loaded fresh, its
// `save` signature must return the weights bit for bit, and the inference-only
// form's `infer` must answer as the training form's does on probe inputs: bit
// for bit, or for float outputs within kInferTolerance of each output's
// largest magnitude, because runtimes run constant weights through other
// kernels than variables (XNNPACK packs constant weights of FULLY_CONNECTED,
// and its sums come out in another order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "litetrain/export.h"
#include "litetrain/model.h"
#include "litetrain/trainer.h"

namespace litetrain {

struct BakeOptions {
  // Write the inference-only form (see above) instead of a training model.
  bool inference_only = false;
  // Refuse (InvalidArgument, nothing written) a result that this runtime
  // cannot run, naming the operators; "" checks nothing. See compatibility.h
  // for the runtimes litetrain knows ("tflite-runtime-2.14").
  std::string require_runtime;
  // The signature that returns every variable by name (empty: found by its
  // known names, "save" or "parameters"), and the one to keep.
  std::string save_signature;
  std::string infer_signature = "infer";
  // How the result is loaded for the check (libLiteRt.so, threads).
  ModelOptions check_with;
  // Bake weights holding NaN or infinity (a diverged run) instead of
  // refusing them with InvalidArgument.
  bool allow_nonfinite = false;
};

// The largest difference allowed between the inference-only form's `infer`
// outputs and the training form's, as a fraction of an output's largest value.
inline constexpr double kInferTolerance = 1e-5;

// What the check of a baked model found.
struct BakeReport {
  std::vector<std::string> variables;  // returned by the fresh model's `save`, bit for bit
  // Inference-only form: the largest difference between its `infer` outputs
  // and the training form's, as a fraction of that output's largest value
  // (0: bit for bit). -1 for the training form, which has no such check.
  double infer_difference = -1.0;
};

// Returns the bytes of `model` (a .tflite training model) with `weights` (a
// Snapshot: every output of its `save` signature, by name) as the initial
// values of its variables, or its inference-only form.
//
// Throws ModelFormatError for damaged bytes or a model with parts litetrain's
// schema does not know; InvalidArgument for a model that is not a litetrain
// training model (no `save` or `infer` signature, a `save` output that is not
// a variable, no variable initializer) or weights that do not match it
// (names, dtypes, shapes) or hold NaN / infinity (unless allow_nonfinite),
// or a result that `require_runtime` cannot run;
// Error if the check of the result fails (a litetrain bug); LibraryError or
// RuntimeFailure from loading the result.
// `report`, when given, receives what the check found.
LITETRAIN_API std::vector<uint8_t> BakeModel(const void* model, std::size_t size, const Snapshot& weights,
                                             const BakeOptions& options = {}, BakeReport* report = nullptr);
// The same for a loaded model (its file's bytes; checked with its library).
LITETRAIN_API std::vector<uint8_t> BakeModel(const Model& model, const Snapshot& weights, BakeOptions options = {},
                                             BakeReport* report = nullptr);

// Bakes and writes the result to `path` atomically: a temporary file in the
// same folder, flushed to disk, then renamed over `path`; nothing is written
// when baking fails. Throws what BakeModel throws, FileNotFound for a missing
// folder, Error when the file cannot be written.
LITETRAIN_API void BakeModelToFile(const void* model, std::size_t size, const Snapshot& weights,
                                   const std::string& path, const BakeOptions& options = {},
                                   BakeReport* report = nullptr);
LITETRAIN_API void BakeModelToFile(const Model& model, const Snapshot& weights, const std::string& path,
                                   BakeOptions options = {}, BakeReport* report = nullptr);

}  // namespace litetrain
