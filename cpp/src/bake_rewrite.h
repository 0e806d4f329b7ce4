// The flatbuffer rewrites of baking; bake.cc runs them and checks the result
// (bake_checks.h).
#pragma once

#include <string>

#include "flatbuffer/model_file.h"
#include "litetrain/snapshot.h"

namespace litetrain::detail {

// Follows each output of `save_signature` back to the variable it reads and
// makes the variable's initial value its weight: the initializers'
// (CALL_ONCE) constants are replaced, or an assignment is added where none
// sets it. Throws WeightsMismatch when the weights are another model's,
// InvalidArgument when the model is not a training model of that form.
void BakeInitialValues(fb::ModelT& model, const Snapshot& weights, const std::string& save_signature);

// Turns a baked model into its inference-only form: `infer_signature` alone,
// as subgraph 0, with its variable reads replaced by the initial values and
// everything else dropped. Throws InvalidArgument when `infer` changes a
// variable or passes a handle on.
void FreezeInference(fb::ModelT& model, const std::string& infer_signature);

}  // namespace litetrain::detail
