// Runs one signature of a compiled model on caller memory.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "litetrain/export.h"
#include "litetrain/model.h"
#include "litetrain/tensor.h"

namespace litetrain {

class LITETRAIN_API SignatureRunner {
 public:
  SignatureRunner(SignatureRunner&&) noexcept;
  SignatureRunner& operator=(SignatureRunner&&) noexcept;
  ~SignatureRunner();

  const SignatureSpec& spec() const;

  // Runs the signature. inputs[i] feeds spec().inputs[i]; count must equal
  // spec().inputs.size(). Each view must match its spec's dtype and rank and
  // every static dimension; dynamic dimensions (-1) take any size >= 1 and the
  // model is resized when they change. Input memory that is 64-byte aligned
  // is used in place (no copy); other memory is copied once into aligned
  // staging. Throws InvalidArgument naming the input and the problem, or
  // RuntimeFailure with LiteRT's message.
  void Run(const ConstTensorView* inputs, std::size_t count);
  void Run(const std::vector<ConstTensorView>& inputs) { Run(inputs.data(), inputs.size()); }

  // Runs, then hands the outputs to `read` before any other thread can run
  // this runner again: the way to use one runner from several threads.
  using OutputReader = std::function<void(const std::vector<ConstTensorView>& outputs)>;
  void Run(const ConstTensorView* inputs, std::size_t count, const OutputReader& read);

  // The outputs of the last Run, in spec().outputs order. The views point
  // into the runner's own buffers and stay valid until the next Run (from
  // any thread: see the Run overload with a reader).
  const std::vector<ConstTensorView>& outputs() const;

  // Bytes of the input at `index` that Run copied last time (0 when the
  // caller's memory was used in place). For tests and diagnostics.
  std::size_t staged_bytes(std::size_t index) const;

 private:
  friend class Model;
  class Impl;
  SignatureRunner(std::shared_ptr<detail::CompiledModel> model, std::size_t signature);
  std::unique_ptr<Impl> impl_;
};

}  // namespace litetrain
