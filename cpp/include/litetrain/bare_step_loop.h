// The runtime's limit for a step: a signature run again and again on tensor
// buffers bound once, with nothing else per step. Benchmarks measure every
// other way of training against it; a host can use it to learn what its
// device can do at best.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "litetrain/export.h"
#include "litetrain/model.h"
#include "litetrain/tensor.h"

namespace litetrain {

class LITETRAIN_API BareStepLoop {
 public:
  // Binds one batch to every input of `signature` of `model`, by input name:
  // the data is copied once into 64-byte aligned buffers that LiteRT reads in
  // place, and dynamic dimensions are resized to the batch's shape. Output
  // buffers are made once too. Runs of the loop change the model's variables
  // (it is the model's own compiled instance, shared with its runners).
  // Throws InvalidArgument for a missing, unknown or mismatched input (named),
  // RuntimeFailure when LiteRT refuses a buffer or a resize.
  BareStepLoop(const Model& model, std::string_view signature,
               const std::vector<std::pair<std::string, ConstTensorView>>& inputs);
  BareStepLoop(BareStepLoop&&) noexcept;
  BareStepLoop& operator=(BareStepLoop&&) noexcept;
  ~BareStepLoop();

  // Runs the signature `steps` times and returns the wall time in seconds
  // (steady clock, measured here: no caller overhead in it). The model is
  // locked for the whole call, not per step. Throws RuntimeFailure if a run
  // fails (the steps before it ran).
  double Run(int64_t steps);

  // The output called `name` after the last run: a view into the loop's own
  // buffer, valid until the next Run. Throws InvalidArgument for an unknown name.
  ConstTensorView output(std::string_view name) const;

  const SignatureSpec& spec() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace litetrain
