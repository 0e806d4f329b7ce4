// Running a signature over a whole Dataset in order, a batch at a time:
// what Trainer::Predict and Trainer::Evaluate (and validation) do.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "litetrain/dataset.h"
#include "litetrain/signature_runner.h"
#include "litetrain/snapshot.h"

namespace litetrain::detail {

// Every output of `runner` for every sample of `data`, concatenated along
// the batch dimension. A fixed-batch signature's short last batch is padded
// with samples from the start, whose outputs are dropped.
std::vector<NamedTensor> PredictAll(SignatureRunner& runner, const Dataset& data, int64_t batch);

// Sample-weighted means of `runner`'s float32 scalar outputs over `data`. A
// fixed-batch signature's short last batch runs as groups of k samples, each
// repeated batch/k times (k divides the batch): the batch mean of such a
// group is its mean, so the result is exact for outputs that are means.
std::vector<std::pair<std::string, double>> EvaluateMeans(SignatureRunner& runner, const Dataset& data, int64_t batch);

// Throws InvalidArgument unless `spec` has a float32 scalar output to average.
void CheckHasScalarOutputs(const SignatureSpec& spec);

}  // namespace litetrain::detail
