#include "bench/bare_step_loop.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include "aligned_buffer.h"
#include "compiled_model.h"
#include "litert/types.h"
#include "litetrain/errors.h"
#include "model_internals.h"

namespace litetrain {
namespace {

// Tensor buffer handles, destroyed with their owner, also when a constructor
// throws halfway.
struct Handles {
  const litert::Api* api = nullptr;
  std::vector<LiteRtTensorBuffer> all;
  ~Handles() {
    for (LiteRtTensorBuffer b : all) {
      if (b != nullptr) api->LiteRtDestroyTensorBuffer(b);
    }
  }
};

}  // namespace

class BareStepLoop::Impl {
 public:
  Impl(std::shared_ptr<detail::CompiledModel> model, const SignatureSpec& spec, const Dataset& data, int64_t batch)
      : model_(std::move(model)), spec_(spec) {
    input_handles_.api = output_handles_.api = &model_->api();
    if (batch < 1 || data.size() < batch || data.size() % batch != 0) {
      throw InvalidArgument("the loop needs a positive multiple of batch_size=" + std::to_string(batch) +
                            " samples, got " + std::to_string(data.size()));
    }
    batches_ = data.size() / batch;
    std::vector<const ConstTensorView*> columns(spec_.inputs.size(), nullptr);
    for (const Dataset::Column& column : data.columns()) {
      columns[spec_.input_index(column.name)] = &column.data;  // throws naming the valid inputs
    }
    std::lock_guard<std::mutex> lock(model_->run_mutex());
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const TensorSpec& input = spec_.inputs[i];
      if (columns[i] == nullptr) {
        throw InvalidArgument("no data for input '" + input.name + "' of signature '" + spec_.key + "'");
      }
      Shape shape = columns[i]->shape;
      shape[0] = batch;
      CheckShape(input, columns[i]->dtype, shape);
      input_shapes_.push_back(shape);
    }
    Resize();
    input_handles_.all.reserve(columns.size());  // so that no push_back below can throw
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const std::string what = "input '" + spec_.inputs[i].name + "'";
      LiteRtTensorBufferRequirements requirements = nullptr;
      std::size_t required = 0;
      model_->Check(
          api().LiteRtGetCompiledModelInputBufferRequirements(model_->handle(), spec_.index, i, &requirements),
          "LiteRtGetCompiledModelInputBufferRequirements", "for " + what);
      model_->Check(api().LiteRtGetTensorBufferRequirementsBufferSize(requirements, &required),
                    "LiteRtGetTensorBufferRequirementsBufferSize", "for " + what);
      const ConstTensorView& column = *columns[i];
      AlignedBuffer& all = Allocate(column.byte_size());
      std::memcpy(all.data(), column.data, column.byte_size());
      const std::size_t bytes = column.byte_size() / static_cast<std::size_t>(batches_);
      // Each run copies its batch in; the padding past it stays zero.
      AlignedBuffer& bound = Allocate(std::max(required, bytes));
      std::memset(bound.data(), 0, bound.size());
      feeds_.push_back({static_cast<const uint8_t*>(all.data()), bound.data(), bytes});
      input_handles_.all.push_back(Wrap(column.dtype, input_shapes_[i], bound, what));
    }
    std::vector<LiteRtLayout> layouts = OutputLayouts();
    output_handles_.all.reserve(layouts.size());
    for (std::size_t o = 0; o < layouts.size(); ++o) {
      const TensorSpec& output = spec_.outputs[o];
      int64_t dims[Shape::kMaxRank];
      for (unsigned d = 0; d < layouts[o].rank; ++d) dims[d] = layouts[o].dimensions[d];
      const Shape shape(dims, static_cast<int>(layouts[o].rank));
      if (output.dtype == DType::kUnsupported || shape.num_elements() < 0) {
        throw InvalidArgument("output '" + output.name + "' of signature '" + spec_.key +
                              "' has a type or a data-dependent shape the loop cannot bind");
      }
      LiteRtTensorBufferRequirements requirements = nullptr;
      std::size_t required = 0;
      model_->Check(
          api().LiteRtGetCompiledModelOutputBufferRequirements(model_->handle(), spec_.index, o, &requirements),
          "LiteRtGetCompiledModelOutputBufferRequirements", "for output '" + output.name + "'");
      model_->Check(api().LiteRtGetTensorBufferRequirementsBufferSize(requirements, &required),
                    "LiteRtGetTensorBufferRequirementsBufferSize", "for output '" + output.name + "'");
      const std::size_t bytes = static_cast<std::size_t>(shape.num_elements()) * ItemSize(output.dtype);
      AlignedBuffer& memory = Allocate(std::max(required, bytes));
      std::memset(memory.data(), 0, memory.size());
      output_handles_.all.push_back(Wrap(output.dtype, shape, memory, "output '" + output.name + "'"));
      output_views_.push_back(ConstTensorView{output.dtype, shape, memory.data()});
    }
  }

  double Run(int64_t steps) {
    if (steps < 0) throw InvalidArgument("steps must be >= 0, got " + std::to_string(steps));
    std::lock_guard<std::mutex> lock(model_->run_mutex());
    // Another runner may have resized this signature since: put our shapes back.
    if (model_->resize_generation(spec_.index) != generation_) {
      Resize();
      OutputLayouts();
    }
    const litert::Api& a = api();
    const auto started = std::chrono::steady_clock::now();
    for (int64_t s = 0, b = 0; s < steps; ++s, b = b + 1 == batches_ ? 0 : b + 1) {
      for (const Feed& feed : feeds_) {
        std::memcpy(feed.bound, feed.batches + static_cast<std::size_t>(b) * feed.bytes, feed.bytes);
      }
      const LiteRtStatus status =
          a.LiteRtRunCompiledModel(model_->handle(), spec_.index, input_handles_.all.size(), input_handles_.all.data(),
                                   output_handles_.all.size(), output_handles_.all.data());
      if (status != kLiteRtStatusOk) {
        model_->Check(status, "LiteRtRunCompiledModel",
                      "in step " + std::to_string(s) + " of signature '" + spec_.key + "'");
      }
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  ConstTensorView output(std::string_view name) const { return output_views_.at(spec_.output_index(name)); }
  const SignatureSpec& spec() const { return spec_; }
  int64_t num_batches() const { return batches_; }

 private:
  const litert::Api& api() const { return model_->api(); }

  void CheckShape(const TensorSpec& input, DType dtype, const Shape& shape) const {
    bool ok = dtype == input.dtype && shape.rank() == input.shape.rank();
    for (int d = 0; ok && d < input.shape.rank(); ++d) ok = input.shape[d] < 0 || shape[d] == input.shape[d];
    if (!ok) {
      throw InvalidArgument("input '" + input.name + "' of signature '" + spec_.key + "' takes " +
                            std::string(DTypeName(input.dtype)) + input.shape.to_string() + ", got batches of " +
                            std::string(DTypeName(dtype)) + shape.to_string());
    }
  }

  // Gives the dynamic inputs our batch's shape; other runners of the model
  // then see a new generation and re-apply their own.
  void Resize() {
    bool resized = false;
    for (std::size_t i = 0; i < spec_.inputs.size(); ++i) {
      if (!spec_.inputs[i].shape.has_dynamic_dims()) continue;
      const Shape& shape = input_shapes_[i];
      int dims[Shape::kMaxRank];
      for (int d = 0; d < shape.rank(); ++d) dims[d] = static_cast<int>(shape[d]);
      model_->Check(api().LiteRtCompiledModelResizeInputTensor(model_->handle(), spec_.index, i, dims,
                                                               static_cast<std::size_t>(shape.rank())),
                    "LiteRtCompiledModelResizeInputTensor", "for input '" + spec_.inputs[i].name + "'");
      resized = true;
    }
    if (resized) ++model_->resize_generation(spec_.index);
    generation_ = model_->resize_generation(spec_.index);
  }

  // The output layouts for the current input shapes (and LiteRT's
  // allocation updated to them).
  std::vector<LiteRtLayout> OutputLayouts() {
    std::vector<LiteRtLayout> layouts(spec_.outputs.size());
    if (!layouts.empty()) {
      model_->Check(api().LiteRtGetCompiledModelOutputTensorLayouts(model_->handle(), spec_.index, layouts.size(),
                                                                    layouts.data(), /*update_allocation=*/true),
                    "LiteRtGetCompiledModelOutputTensorLayouts", "of signature '" + spec_.key + "'");
    }
    return layouts;
  }

  AlignedBuffer& Allocate(std::size_t bytes) {
    memory_.push_back(std::make_unique<AlignedBuffer>(bytes));
    return *memory_.back();
  }

  LiteRtTensorBuffer Wrap(DType dtype, const Shape& shape, AlignedBuffer& memory, const std::string& what) {
    const LiteRtRankedTensorType type = litert::MakeTensorType(dtype, shape);
    LiteRtTensorBuffer handle = nullptr;
    model_->Check(api().LiteRtCreateTensorBufferFromHostMemory(&type, memory.data(), memory.size(), nullptr, &handle),
                  "LiteRtCreateTensorBufferFromHostMemory", "for " + what);
    return handle;
  }

  // One input's batches, all of them in the loop's memory, and the buffer
  // bound to the input that each step copies its batch into.
  struct Feed {
    const uint8_t* batches;
    void* bound;
    std::size_t bytes;  // per batch
  };

  std::shared_ptr<detail::CompiledModel> model_;
  const SignatureSpec& spec_;
  int64_t batches_ = 0;
  std::vector<std::unique_ptr<AlignedBuffer>> memory_;  // stable addresses: LiteRT holds them
  std::vector<Shape> input_shapes_;                     // per input, one batch
  std::vector<Feed> feeds_;                             // per input
  Handles input_handles_;                               // per input, after memory_: destroyed before it
  Handles output_handles_;
  std::vector<ConstTensorView> output_views_;
  uint64_t generation_ = 0;
};

BareStepLoop::BareStepLoop(const Model& model, std::string_view signature, const Dataset& data, int64_t batch_size)
    : impl_(std::make_unique<Impl>(detail::ModelInternals::Compiled(model), model.signature(signature), data,
                                   batch_size)) {}
BareStepLoop::BareStepLoop(BareStepLoop&&) noexcept = default;
BareStepLoop& BareStepLoop::operator=(BareStepLoop&&) noexcept = default;
BareStepLoop::~BareStepLoop() = default;

double BareStepLoop::Run(int64_t steps) { return impl_->Run(steps); }
int64_t BareStepLoop::num_batches() const { return impl_->num_batches(); }
ConstTensorView BareStepLoop::output(std::string_view name) const { return impl_->output(name); }
const SignatureSpec& BareStepLoop::spec() const { return impl_->spec(); }

}  // namespace litetrain
