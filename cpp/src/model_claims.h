// Which loaded models have a Trainer: two Trainers on one Model would train
// the same variables behind each other's backs.
#pragma once

#include "litetrain/model.h"

namespace litetrain::detail {

// Throws InvalidArgument if `model` (any handle to the same loaded file)
// already has a Trainer.
void ClaimForTrainer(const Model& model);
// Undoes ClaimForTrainer for the model whose file_data() is `file`.
void ReleaseFromTrainer(const void* file);

}  // namespace litetrain::detail
