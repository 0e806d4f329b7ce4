#include "litetrain/signature_runner.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>

#include "aligned_buffer.h"
#include "compiled_model.h"
#include "litert/types.h"
#include "litetrain/errors.h"
#include "output_buffer.h"

namespace litetrain {
namespace {

// Owns one LiteRtTensorBuffer handle.
class TensorBufferHandle {
 public:
  TensorBufferHandle() = default;
  explicit TensorBufferHandle(const litert::Api* api) : api_(api) {}
  TensorBufferHandle(TensorBufferHandle&& other) noexcept
      : api_(other.api_), handle_(std::exchange(other.handle_, nullptr)) {}
  TensorBufferHandle& operator=(TensorBufferHandle&& other) noexcept {
    if (this != &other) {
      reset();
      api_ = other.api_;
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  ~TensorBufferHandle() { reset(); }

  // Wraps `size` bytes at `memory` (64-byte aligned) as a tensor of `shape`.
  void wrap(detail::CompiledModel& model, DType dtype, const Shape& shape, void* memory, std::size_t size,
            const std::string& what) {
    reset();
    api_ = &model.api();
    const LiteRtRankedTensorType type = litert::MakeTensorType(dtype, shape);
    model.Check(api_->LiteRtCreateTensorBufferFromHostMemory(&type, memory, size, nullptr, &handle_),
                "LiteRtCreateTensorBufferFromHostMemory", "for " + what);
  }
  void reset() noexcept {
    if (handle_) api_->LiteRtDestroyTensorBuffer(handle_);
    handle_ = nullptr;
  }
  LiteRtTensorBuffer get() const noexcept { return handle_; }

 private:
  const litert::Api* api_ = nullptr;
  LiteRtTensorBuffer handle_ = nullptr;
};

// State of one input between runs.
struct InputSlot {
  Shape shape;                // the shape the compiled model currently has
  std::size_t required = 0;   // bytes LiteRT wants for a buffer of `shape`
  AlignedBuffer staging;      // for caller memory that cannot be used in place
  TensorBufferHandle staged;  // wraps `staging`
  // Caller memory wrapped for in-place use, by address. Two entries, so that
  // a caller alternating between two buffers (double-buffered feeding)
  // never re-wraps.
  struct Borrowed {
    const void* address = nullptr;
    TensorBufferHandle buffer;
  };
  Borrowed borrowed[2];
  int next_borrowed = 0;         // the entry to replace next
  std::size_t staged_bytes = 0;  // copied in the last run
};

struct OutputSlot {
  Shape shape;           // as LiteRT reported it before the run
  OutputBuffer storage;  // guarded; see output_buffer.h
  TensorBufferHandle buffer;
  const void* bound = nullptr;   // the memory `buffer` wraps
  std::size_t given = 0;         // the size `buffer` tells LiteRT
  bool dynamic = false;          // its size may change from run to run
  bool reserve_refused = false;  // the system gave less than DynamicOutputCapacity asked
};

Shape FromLayout(const LiteRtLayout& layout) {
  int64_t dims[Shape::kMaxRank];
  for (unsigned d = 0; d < layout.rank; ++d) dims[d] = layout.dimensions[d];
  return Shape(dims, static_cast<int>(layout.rank));
}

// Elements of `shape`, counting a dimension not yet set (-1) as 1.
double KnownElements(const Shape& shape) {
  double elements = 1;
  for (int d = 0; d < shape.rank(); ++d) elements *= static_cast<double>(std::max<int64_t>(1, shape[d]));
  return elements;
}

std::string Describe(const TensorSpec& spec) { return std::string(DTypeName(spec.dtype)) + spec.shape.to_string(); }

std::string NameList(const std::vector<TensorSpec>& specs) {
  std::string names;
  for (const auto& spec : specs) names += (names.empty() ? "'" : ", '") + spec.name + "'";
  return names.empty() ? "none" : names;
}

}  // namespace

class SignatureRunner::Impl {
 public:
  Impl(std::shared_ptr<detail::CompiledModel> model, std::size_t signature)
      : model_(std::move(model)), spec_(model_->signatures().at(signature)) {
    inputs_.resize(spec_.inputs.size());
    for (std::size_t i = 0; i < inputs_.size(); ++i) inputs_[i].shape = spec_.inputs[i].shape;
    outputs_.resize(spec_.outputs.size());
    for (std::size_t o = 0; o < outputs_.size(); ++o) {
      outputs_[o].dynamic = spec_.outputs[o].shape.has_dynamic_dims();
      dynamic_outputs_ |= outputs_[o].dynamic;
    }
    output_views_.resize(spec_.outputs.size());
    run_layouts_.resize(spec_.outputs.size());
    input_handles_.resize(spec_.inputs.size());
    output_handles_.resize(spec_.outputs.size());
  }

  const SignatureSpec& spec() const { return spec_; }
  const std::vector<ConstTensorView>& outputs() const { return output_views_; }
  std::size_t staged_bytes(std::size_t i) const {
    if (i >= inputs_.size()) {
      throw OutOfRange("input index " + std::to_string(i) + " is out of range for signature '" + spec_.key + "' with " +
                       std::to_string(inputs_.size()) + " inputs");
    }
    return inputs_[i].staged_bytes;
  }

  void Run(const ConstTensorView* views, std::size_t count, const OutputReader* read) {
    // The runner's lock first, then the model's: runs of one runner are
    // serialised with the reading of their outputs, runs of one model with
    // each other.
    std::lock_guard<std::mutex> runner_lock(mutex_);
    if (count != spec_.inputs.size()) {
      throw InvalidArgument("signature '" + spec_.key + "' takes " + std::to_string(spec_.inputs.size()) + " inputs (" +
                            NameList(spec_.inputs) + "), got " + std::to_string(count));
    }
    for (std::size_t i = 0; i < count; ++i) Validate(i, views[i]);

    {
      std::lock_guard<std::mutex> model_lock(model_->run_mutex());
      RunLocked(views, count);
    }
    if (read != nullptr) (*read)(output_views_);
  }

 private:
  void RunLocked(const ConstTensorView* views, std::size_t count) {
    uint64_t& generation = model_->resize_generation(spec_.index);
    if (generation != seen_generation_) ForgetShapes();  // another runner resized
    try {
      bool resized = false;
      double growth = 1;  // how much the inputs grew, for outputs LiteRT cannot size yet
      for (std::size_t i = 0; i < count; ++i) {
        if (inputs_[i].shape != views[i].shape) {
          outputs_ready_ = false;
          growth = std::max(growth, KnownElements(views[i].shape) / KnownElements(inputs_[i].shape));
        }
        resized |= ResizeIfNeeded(i, views[i].shape);
      }
      if (resized) ++generation;
      seen_generation_ = generation;
      if (!outputs_ready_) PrepareOutputs(growth);
    } catch (...) {
      // A half-done resize: make the next Run start from scratch.
      ForgetShapes();
      ++generation;
      throw;
    }
    for (std::size_t i = 0; i < count; ++i) input_handles_[i] = Bind(i, views[i]);

    const LiteRtStatus status =
        model_->api().LiteRtRunCompiledModel(model_->handle(), spec_.index, input_handles_.size(),
                                             input_handles_.data(), output_handles_.size(), output_handles_.data());
    if (status != kLiteRtStatusOk) {
      outputs_ready_ = false;  // a failed run may have left shapes half updated
      model_->Check(status, "LiteRtRunCompiledModel", "while running signature '" + spec_.key + "'");
    }
    if (check_shapes_ || runtime_shapes_ || dynamic_outputs_) ReadRunShapes();
  }

  // Cheap checks on the hot path; the message is only built on failure.
  void Validate(std::size_t i, const ConstTensorView& view) const {
    const TensorSpec& spec = spec_.inputs[i];
    bool ok = spec.dtype != DType::kUnsupported && view.dtype == spec.dtype && view.shape.rank() == spec.shape.rank() &&
              view.data != nullptr;
    for (int d = 0; ok && d < spec.shape.rank(); ++d) {
      const int64_t want = spec.shape[d];
      const int64_t got = view.shape[d];
      ok = want < 0 ? (got >= 1 && got <= std::numeric_limits<int32_t>::max()) : got == want;
    }
    if (!ok) ThrowInvalid(spec, view);
  }

  [[noreturn]] void ThrowInvalid(const TensorSpec& spec, const ConstTensorView& view) const {
    const std::string where = "input '" + spec.name + "' of signature '" + spec_.key + "'";
    if (spec.dtype == DType::kUnsupported) {
      throw InvalidArgument(where + " has a type litetrain cannot feed");
    }
    if (view.dtype != spec.dtype) {
      throw InvalidArgument(where + " must be " + std::string(DTypeName(spec.dtype)) + ", got " +
                            std::string(DTypeName(view.dtype)));
    }
    if (view.shape.rank() != spec.shape.rank()) {
      throw InvalidArgument(where + " must have rank " + std::to_string(spec.shape.rank()) + " " + Describe(spec) +
                            ", got shape " + view.shape.to_string());
    }
    if (view.data == nullptr) throw InvalidArgument(where + " has no data (null pointer)");
    const bool dynamic = spec.shape.has_dynamic_dims();
    throw InvalidArgument(where + " must have shape " + spec.shape.to_string() +
                          (dynamic ? " (-1: any size >= 1)" : "") + ", got " + view.shape.to_string());
  }

  // Makes the next Run resize every dynamic input and re-size the outputs.
  void ForgetShapes() {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      if (spec_.inputs[i].shape.has_dynamic_dims()) inputs_[i].shape = spec_.inputs[i].shape;
    }
    outputs_ready_ = false;
  }

  // Tells LiteRT about a new size of a dynamic dimension. Returns true if it did.
  bool ResizeIfNeeded(std::size_t i, const Shape& shape) {
    InputSlot& slot = inputs_[i];
    if (slot.shape == shape) return false;
    int dims[Shape::kMaxRank];
    for (int d = 0; d < shape.rank(); ++d) dims[d] = static_cast<int>(shape[d]);
    model_->Check(model_->api().LiteRtCompiledModelResizeInputTensor(model_->handle(), spec_.index, i, dims,
                                                                     static_cast<size_t>(shape.rank())),
                  "LiteRtCompiledModelResizeInputTensor",
                  "for input '" + spec_.inputs[i].name + "' to " + shape.to_string());
    slot.shape = shape;
    slot.required = 0;
    slot.staged.reset();
    slot.staging = AlignedBuffer();
    for (auto& entry : slot.borrowed) {
      entry.buffer.reset();
      entry.address = nullptr;
    }
    return true;
  }

  // Sizes output buffers for the current input shapes. The shapes LiteRT
  // reports here can be stale for outputs it computes while running, so
  // outputs of dynamic shape get room to grow by `growth` and more, and the
  // run's shapes are read back after it (ReadRunShapes).
  void PrepareOutputs(double growth) {
    detail::CompiledModel& model = *model_;
    const std::string where = "of signature '" + spec_.key + "'";
    std::vector<LiteRtLayout> layouts(outputs_.size());
    if (!layouts.empty()) {
      model.Check(model.api().LiteRtGetCompiledModelOutputTensorLayouts(model.handle(), spec_.index, layouts.size(),
                                                                        layouts.data(),
                                                                        /*update_allocation=*/true),
                  "LiteRtGetCompiledModelOutputTensorLayouts", where);
    }
    for (std::size_t o = 0; o < outputs_.size(); ++o) {
      const TensorSpec& spec = spec_.outputs[o];
      if (spec.dtype == DType::kUnsupported) {
        throw InvalidArgument("output '" + spec.name + "' " + where + " has a type litetrain cannot read");
      }
      const Shape shape = FromLayout(layouts[o]);
      if (shape.num_elements() < 0) {
        throw InvalidArgument("output '" + spec.name + "' " + where + " has shape " + shape.to_string() +
                              " that depends on the data; litetrain needs output shapes that "
                              "follow from the input shapes");
      }
      OutputSlot& slot = outputs_[o];
      if (shape != slot.shape && slot.buffer.get() != nullptr) slot.dynamic = true;
      LiteRtTensorBufferRequirements requirements = nullptr;
      std::size_t required = 0;
      model.Check(
          model.api().LiteRtGetCompiledModelOutputBufferRequirements(model.handle(), spec_.index, o, &requirements),
          "LiteRtGetCompiledModelOutputBufferRequirements", where);
      model.Check(model.api().LiteRtGetTensorBufferRequirementsBufferSize(requirements, &required),
                  "LiteRtGetTensorBufferRequirementsBufferSize", where);
      const std::size_t bytes = static_cast<std::size_t>(shape.num_elements()) * ItemSize(spec.dtype);
      required = std::max(required, bytes);
      const std::size_t wanted = slot.dynamic ? DynamicOutputCapacity(required, growth) : required;
      if (slot.storage.capacity() < required || (slot.storage.capacity() < wanted && !slot.reserve_refused)) {
        // Nothing may point at the old mapping once it is gone, even if wrap throws.
        slot.buffer.reset();
        slot.bound = nullptr;
        output_views_[o] = ConstTensorView{};
        OutputBuffer fresh = OutputBuffer::Reserve(wanted, required);
        slot.reserve_refused = fresh.capacity() < wanted;  // the system will not reserve more: stop asking
        slot.storage = std::move(fresh);
      }
      // A dynamic output gives LiteRT its whole capacity, so that LiteRT's size
      // check passes for any shape that fits whatever the stale report said.
      // Others give the exact size: LiteRT copies that many bytes into the
      // buffer from an output that is a constant of the file.
      const std::size_t given = slot.dynamic ? slot.storage.capacity() : required;
      if (slot.shape != shape || slot.buffer.get() == nullptr || slot.storage.data() != slot.bound ||
          slot.given != given) {
        slot.buffer.wrap(model, spec.dtype, shape, slot.storage.data(), given, "output '" + spec.name + "'");
        slot.bound = slot.storage.data();
        slot.given = given;
        slot.shape = shape;
      }
      output_handles_[o] = slot.buffer.get();
      output_views_[o] = ConstTensorView{spec.dtype, shape, slot.storage.data()};
    }
    outputs_ready_ = true;
    check_shapes_ = true;
  }

  // Reads the shapes the run gave the outputs. Done after the first run at
  // new input shapes, after every run of a signature with outputs of unknown
  // size, and after every run once a signature has shown shapes that only
  // the run computes (they may then follow the data).
  void ReadRunShapes() {
    detail::CompiledModel& model = *model_;
    if (!run_layouts_.empty()) {
      const LiteRtStatus status = model.api().LiteRtGetCompiledModelOutputTensorLayouts(
          model.handle(), spec_.index, run_layouts_.size(), run_layouts_.data(), /*update_allocation=*/false);
      if (status != kLiteRtStatusOk) {
        model.Check(status, "LiteRtGetCompiledModelOutputTensorLayouts", "of signature '" + spec_.key + "'");
      }
    }
    check_shapes_ = false;
    for (std::size_t o = 0; o < outputs_.size(); ++o) {
      const Shape shape = FromLayout(run_layouts_[o]);
      if (shape != output_views_[o].shape) FollowRunShape(o, shape);
    }
  }

  // The run gave output `o` another shape than LiteRT reported before it.
  void FollowRunShape(std::size_t o, const Shape& shape) {
    OutputSlot& slot = outputs_[o];
    const TensorSpec& spec = spec_.outputs[o];
    runtime_shapes_ = true;
    slot.dynamic = true;
    const int64_t elements = shape.num_elements();
    if (elements < 0 || static_cast<std::size_t>(elements) * ItemSize(spec.dtype) > slot.storage.capacity()) {
      outputs_ready_ = false;
      throw RuntimeFailure("output '" + spec.name + "' of signature '" + spec_.key + "' came out with shape " +
                               shape.to_string() + ", larger than the " + std::to_string(slot.storage.capacity()) +
                               " bytes reserved for it from the shapes LiteRT reported before the run",
                           kLiteRtStatusErrorRuntimeFailure);
    }
    output_views_[o] = ConstTensorView{spec.dtype, shape, slot.storage.data()};
  }

  // Returns a tensor buffer holding the input: the caller's memory itself when
  // LiteRT can take it, else a copy in aligned staging.
  LiteRtTensorBuffer Bind(std::size_t i, const ConstTensorView& view) {
    detail::CompiledModel& model = *model_;
    InputSlot& slot = inputs_[i];
    const TensorSpec& spec = spec_.inputs[i];
    const std::size_t bytes = view.byte_size();
    if (slot.required == 0) {
      LiteRtTensorBufferRequirements requirements = nullptr;
      model.Check(
          model.api().LiteRtGetCompiledModelInputBufferRequirements(model.handle(), spec_.index, i, &requirements),
          "LiteRtGetCompiledModelInputBufferRequirements", "for input '" + spec.name + "'");
      model.Check(model.api().LiteRtGetTensorBufferRequirementsBufferSize(requirements, &slot.required),
                  "LiteRtGetTensorBufferRequirementsBufferSize", "for input '" + spec.name + "'");
      slot.required = std::max(slot.required, bytes);
    }
    // In place only when LiteRT asks for no padding beyond the tensor: we
    // cannot know whether the caller's allocation extends past its end.
    if (IsAligned(view.data) && slot.required == bytes) {
      slot.staged_bytes = 0;
      for (auto& entry : slot.borrowed) {
        if (entry.address == view.data && entry.buffer.get() != nullptr) return entry.buffer.get();
      }
      auto& entry = slot.borrowed[slot.next_borrowed];
      slot.next_borrowed ^= 1;
      // LiteRT takes a non-const pointer but only reads input buffers.
      entry.buffer.wrap(model, spec.dtype, view.shape, const_cast<void*>(view.data), bytes,
                        "input '" + spec.name + "'");
      entry.address = view.data;
      return entry.buffer.get();
    }
    if (slot.staged.get() == nullptr) {
      slot.staging = AlignedBuffer(slot.required);
      std::memset(slot.staging.data(), 0, slot.staging.size());
      slot.staged.wrap(model, spec.dtype, view.shape, slot.staging.data(), slot.required, "input '" + spec.name + "'");
    }
    std::memcpy(slot.staging.data(), view.data, bytes);
    slot.staged_bytes = bytes;
    return slot.staged.get();
  }

  std::shared_ptr<detail::CompiledModel> model_;
  const SignatureSpec& spec_;
  std::vector<InputSlot> inputs_;
  std::vector<OutputSlot> outputs_;
  std::vector<ConstTensorView> output_views_;
  std::vector<LiteRtLayout> run_layouts_;  // ReadRunShapes' reads, kept to not allocate per run
  std::vector<LiteRtTensorBuffer> input_handles_;
  std::vector<LiteRtTensorBuffer> output_handles_;
  bool outputs_ready_ = false;
  bool check_shapes_ = false;    // read the outputs' shapes after the next run
  bool runtime_shapes_ = false;  // some output's shape is only known after a run
  // Some output has a dimension of unknown size: its shape is read after
  // every run (a run of another signature, e.g. restore, may change it).
  bool dynamic_outputs_ = false;
  uint64_t seen_generation_ = 0;
  std::mutex mutex_;  // one Run (and its reader) at a time
};

SignatureRunner::SignatureRunner(std::shared_ptr<detail::CompiledModel> model, std::size_t signature)
    : impl_(std::make_unique<Impl>(std::move(model), signature)) {}
SignatureRunner::SignatureRunner(SignatureRunner&&) noexcept = default;
SignatureRunner& SignatureRunner::operator=(SignatureRunner&&) noexcept = default;
SignatureRunner::~SignatureRunner() = default;

const SignatureSpec& SignatureRunner::spec() const { return impl_->spec(); }
void SignatureRunner::Run(const ConstTensorView* inputs, std::size_t count) { impl_->Run(inputs, count, nullptr); }
void SignatureRunner::Run(const ConstTensorView* inputs, std::size_t count, const OutputReader& read) {
  impl_->Run(inputs, count, &read);
}
const std::vector<ConstTensorView>& SignatureRunner::outputs() const { return impl_->outputs(); }
std::size_t SignatureRunner::staged_bytes(std::size_t index) const { return impl_->staged_bytes(index); }

}  // namespace litetrain
