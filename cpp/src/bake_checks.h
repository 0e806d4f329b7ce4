// What baking checks in the files it makes (bake.cc): a failed check of the
// result is a litetrain bug (Error); a refused input is InvalidArgument.
#pragma once

#include <string>
#include <vector>

#include "litetrain/bake.h"
#include "litetrain/model.h"
#include "litetrain/snapshot.h"

namespace litetrain::detail {

// The fresh model's `key` signature returns the weights, bit for bit.
void CheckSave(const Model& model, const Snapshot& weights, const std::string& key);

// The inference-only model's `key` answers as the training form's does, on
// deterministic inputs; returns the largest difference found (see
// BakeReport::infer_difference).
double CheckInferSame(const Model& trained, const Model& frozen, const std::string& key);

// Throws InvalidArgument naming what `options.require_runtime` cannot load.
// `offer` says how to get a form it can load, when there is one.
void CheckRuntime(const std::vector<uint8_t>& bytes, const BakeOptions& options, const std::string& offer);

// A model baked from a diverged run would deploy NaN answers without a word:
// throws InvalidArgument naming the first non-finite float32 weight.
void CheckFinite(const Snapshot& weights);

}  // namespace litetrain::detail
