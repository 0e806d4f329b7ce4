// The limit of a loop that gathers its batches: copy the step's batch into
// tensor buffers bound once and run the signature, nothing else (no checks,
// no shuffling, no Python). Trainer::Fit gathers each batch so that it can
// shuffle, and the other loops the benchmarks time write theirs in, so this
// is what their overhead is measured against. (A loop over batches that
// already lie bound, unshuffled, skips the copy: README, "Benchmarks", has
// the figures.) A host can use it to learn what its device can do at best.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "litetrain/dataset.h"
#include "litetrain/model.h"
#include "litetrain/tensor.h"

namespace litetrain {

class BareStepLoop {
 public:
  // Copies `data` (columns by input name of `signature`), split into batches
  // of `batch_size` samples, into the loop's own memory, and binds input
  // buffers, one per input, 64-byte aligned and one batch in size, that
  // LiteRT reads in place. Dynamic dimensions are resized to the batch's
  // shape; output buffers are made once too. Runs change the model's
  // variables (the loop runs the model's own compiled instance, shared with
  // its runners).
  // Throws InvalidArgument for a missing, unknown or mismatched input (named)
  // or a sample count that is not a positive multiple of `batch_size`,
  // RuntimeFailure when LiteRT refuses a buffer or a resize.
  BareStepLoop(const Model& model, std::string_view signature, const Dataset& data, int64_t batch_size);
  BareStepLoop(BareStepLoop&&) noexcept;
  BareStepLoop& operator=(BareStepLoop&&) noexcept;
  ~BareStepLoop();

  // Runs the signature `steps` times, step s on batch s % num_batches() (so
  // that every call sees the same data), copied into the bound inputs just
  // before its run, and returns the wall time in seconds, copies included
  // (steady clock, measured here: no caller overhead in it). The
  // model is locked for the whole call, not per step. Throws RuntimeFailure
  // if a run fails (the steps before it ran).
  double Run(int64_t steps);

  int64_t num_batches() const;

  // The output called `name` after the last run: a view into the loop's own
  // buffer, valid until the next Run. Throws InvalidArgument for an unknown name.
  ConstTensorView output(std::string_view name) const;

  const SignatureSpec& spec() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace litetrain
