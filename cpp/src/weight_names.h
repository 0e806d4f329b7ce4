// Weight names that differ only by Keras' automatic suffixes: a Keras model
// built twice in one process gets layers dense_1, conv2d_1, ... the second
// time, so litetrain.build names its weights dense_1_kernel instead of
// dense_kernel, and a checkpoint of one does not load into the other.
#pragma once

#include <set>
#include <string>

namespace litetrain {

// A sentence explaining the mismatch and its fix when `ours` and `theirs`
// are the same names once every "_<number>" part is dropped; else "".
std::string KerasSuffixHint(const std::set<std::string>& ours, const std::set<std::string>& theirs);

}  // namespace litetrain
