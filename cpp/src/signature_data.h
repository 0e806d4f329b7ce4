// How a Dataset's columns meet a signature's inputs: by name, per-sample
// shape and dtype, with the batch as every input's first dimension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "litetrain/dataset.h"
#include "litetrain/model.h"

namespace litetrain::detail {

// Which dataset column feeds each input of `spec`, after checking that every
// column fits its input. Throws InvalidArgument naming the array and the fix.
std::vector<std::size_t> MatchColumns(const Dataset& data, const SignatureSpec& spec);

// The batch size the signature fixes (its inputs' first dimension), or -1.
int64_t FixedBatch(const SignatureSpec& spec);

// The signature called `key` if the model has it, else nullptr.
const SignatureSpec* FindSignature(const Model& model, const std::string& key);

}  // namespace litetrain::detail
