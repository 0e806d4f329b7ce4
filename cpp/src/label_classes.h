// Which inputs of a signature are sparse class labels, and how many classes
// they may name: read off the graph, so that Fit can refuse out-of-range
// labels before a step (a one-hot of an id >= depth is all zeros and trains
// with loss 0, silently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "litetrain/model.h"

namespace litetrain::detail {

// For each input of `spec`: the depth of the ONE_HOT that encodes it
// (directly or through casts and reshapes), or -1 when it is not so encoded.
std::vector<int64_t> SparseLabelClasses(const Model& model, const SignatureSpec& spec);

// Throws InvalidArgument naming the first label outside [0, classes).
// `what` names the array in the message ("training array 'y'").
void CheckLabelRange(const std::string& what, const ConstTensorView& labels, int64_t classes);

}  // namespace litetrain::detail
