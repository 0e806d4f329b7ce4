#include "litetrain/bare_step_loop.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include "aligned_buffer.h"
#include "compiled_model.h"
#include "litert/types.h"
#include "litetrain/errors.h"

namespace litetrain {

class BareStepLoop::Impl {
 public:
  Impl(std::shared_ptr<detail::CompiledModel> model, const SignatureSpec& spec,
       const std::vector<std::pair<std::string, ConstTensorView>>& inputs)
      : model_(std::move(model)), spec_(spec) {
    std::vector<const ConstTensorView*> by_index(spec_.inputs.size(), nullptr);
    for (const auto& [name, view] : inputs) {
      const std::size_t i = spec_.input_index(name);  // throws naming the valid inputs
      if (by_index[i] != nullptr) throw InvalidArgument("input '" + name + "' is given twice");
      by_index[i] = &view;
    }
    std::lock_guard<std::mutex> lock(model_->run_mutex());
    bool resized = false;
    for (std::size_t i = 0; i < by_index.size(); ++i) {
      const TensorSpec& input = spec_.inputs[i];
      if (by_index[i] == nullptr) {
        throw InvalidArgument("no batch for input '" + input.name + "' of signature '" + spec_.key + "'");
      }
      const ConstTensorView& view = *by_index[i];
      Check(input, view);
      if (input.shape.has_dynamic_dims()) {
        int dims[Shape::kMaxRank];
        for (int d = 0; d < view.shape.rank(); ++d) dims[d] = static_cast<int>(view.shape[d]);
        model_->Check(api().LiteRtCompiledModelResizeInputTensor(model_->handle(), spec_.index, i, dims,
                                                                 static_cast<std::size_t>(view.shape.rank())),
                      "LiteRtCompiledModelResizeInputTensor", "for input '" + input.name + "'");
        resized = true;
      }
    }
    // Runners of the same model must re-apply their own shapes.
    if (resized) ++model_->resize_generation(spec_.index);
    generation_ = model_->resize_generation(spec_.index);
    for (std::size_t i = 0; i < by_index.size(); ++i) {
      const ConstTensorView& view = *by_index[i];
      LiteRtTensorBufferRequirements requirements = nullptr;
      std::size_t required = 0;
      model_->Check(api().LiteRtGetCompiledModelInputBufferRequirements(model_->handle(), spec_.index, i,
                                                                        &requirements),
                    "LiteRtGetCompiledModelInputBufferRequirements", "for input '" + spec_.inputs[i].name + "'");
      model_->Check(api().LiteRtGetTensorBufferRequirementsBufferSize(requirements, &required),
                    "LiteRtGetTensorBufferRequirementsBufferSize", "for input '" + spec_.inputs[i].name + "'");
      AlignedBuffer& memory = Allocate(std::max(required, view.byte_size()));
      std::memcpy(memory.data(), view.data, view.byte_size());
      input_shapes_.push_back(view.shape);
      input_handles_.push_back(Wrap(view.dtype, view.shape, memory, "input '" + spec_.inputs[i].name + "'"));
    }
    std::vector<LiteRtLayout> layouts(spec_.outputs.size());
    if (!layouts.empty()) {
      model_->Check(api().LiteRtGetCompiledModelOutputTensorLayouts(model_->handle(), spec_.index, layouts.size(),
                                                                    layouts.data(), /*update_allocation=*/true),
                    "LiteRtGetCompiledModelOutputTensorLayouts", "of signature '" + spec_.key + "'");
    }
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
      model_->Check(api().LiteRtGetCompiledModelOutputBufferRequirements(model_->handle(), spec_.index, o,
                                                                         &requirements),
                    "LiteRtGetCompiledModelOutputBufferRequirements", "for output '" + output.name + "'");
      model_->Check(api().LiteRtGetTensorBufferRequirementsBufferSize(requirements, &required),
                    "LiteRtGetTensorBufferRequirementsBufferSize", "for output '" + output.name + "'");
      const std::size_t bytes = static_cast<std::size_t>(shape.num_elements()) * ItemSize(output.dtype);
      AlignedBuffer& memory = Allocate(std::max(required, bytes));
      std::memset(memory.data(), 0, memory.size());
      output_handles_.push_back(Wrap(output.dtype, shape, memory, "output '" + output.name + "'"));
      output_views_.push_back(ConstTensorView{output.dtype, shape, memory.data()});
    }
  }

  ~Impl() {
    for (LiteRtTensorBuffer b : input_handles_) api().LiteRtDestroyTensorBuffer(b);
    for (LiteRtTensorBuffer b : output_handles_) api().LiteRtDestroyTensorBuffer(b);
  }

  double Run(int64_t steps) {
    if (steps < 0) throw InvalidArgument("steps must be >= 0, got " + std::to_string(steps));
    std::lock_guard<std::mutex> lock(model_->run_mutex());
    // Another runner may have resized this signature since: put our shapes back.
    if (model_->resize_generation(spec_.index) != generation_) Rebind();
    const litert::Api& a = api();
    const auto started = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      const LiteRtStatus status =
          a.LiteRtRunCompiledModel(model_->handle(), spec_.index, input_handles_.size(), input_handles_.data(),
                                   output_handles_.size(), output_handles_.data());
      if (status != kLiteRtStatusOk) {
        model_->Check(status, "LiteRtRunCompiledModel",
                      "in step " + std::to_string(s) + " of signature '" + spec_.key + "'");
      }
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  ConstTensorView output(std::string_view name) const { return output_views_.at(spec_.output_index(name)); }
  const SignatureSpec& spec() const { return spec_; }

 private:
  const litert::Api& api() const { return model_->api(); }

  void Check(const TensorSpec& input, const ConstTensorView& view) const {
    bool ok = view.dtype == input.dtype && view.data != nullptr && view.shape.rank() == input.shape.rank();
    for (int d = 0; ok && d < input.shape.rank(); ++d) {
      ok = input.shape[d] < 0 ? view.shape[d] >= 1 : view.shape[d] == input.shape[d];
    }
    if (!ok) {
      throw InvalidArgument("input '" + input.name + "' of signature '" + spec_.key + "' takes " +
                            std::string(DTypeName(input.dtype)) + input.shape.to_string() + ", got " +
                            std::string(DTypeName(view.dtype)) + view.shape.to_string());
    }
  }

  // Resizes the dynamic inputs again, after another runner changed them.
  void Rebind() {
    for (std::size_t i = 0; i < spec_.inputs.size(); ++i) {
      if (!spec_.inputs[i].shape.has_dynamic_dims()) continue;
      const Shape& shape = input_shapes_[i];
      int dims[Shape::kMaxRank];
      for (int d = 0; d < shape.rank(); ++d) dims[d] = static_cast<int>(shape[d]);
      model_->Check(api().LiteRtCompiledModelResizeInputTensor(model_->handle(), spec_.index, i, dims,
                                                               static_cast<std::size_t>(shape.rank())),
                    "LiteRtCompiledModelResizeInputTensor", "for input '" + spec_.inputs[i].name + "'");
    }
    std::vector<LiteRtLayout> layouts(spec_.outputs.size());
    if (!layouts.empty()) {
      model_->Check(api().LiteRtGetCompiledModelOutputTensorLayouts(model_->handle(), spec_.index, layouts.size(),
                                                                    layouts.data(), /*update_allocation=*/true),
                    "LiteRtGetCompiledModelOutputTensorLayouts", "of signature '" + spec_.key + "'");
    }
    generation_ = ++model_->resize_generation(spec_.index);
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

  std::shared_ptr<detail::CompiledModel> model_;
  const SignatureSpec& spec_;
  std::vector<std::unique_ptr<AlignedBuffer>> memory_;  // stable addresses: LiteRT holds them
  std::vector<Shape> input_shapes_;
  std::vector<LiteRtTensorBuffer> input_handles_;
  std::vector<LiteRtTensorBuffer> output_handles_;
  std::vector<ConstTensorView> output_views_;
  uint64_t generation_ = 0;
};

BareStepLoop::BareStepLoop(const Model& model, std::string_view signature,
                           const std::vector<std::pair<std::string, ConstTensorView>>& inputs)
    : impl_(std::make_unique<Impl>(model.impl_, model.signature(signature), inputs)) {}
BareStepLoop::BareStepLoop(BareStepLoop&&) noexcept = default;
BareStepLoop& BareStepLoop::operator=(BareStepLoop&&) noexcept = default;
BareStepLoop::~BareStepLoop() = default;

double BareStepLoop::Run(int64_t steps) { return impl_->Run(steps); }
ConstTensorView BareStepLoop::output(std::string_view name) const { return impl_->output(name); }
const SignatureSpec& BareStepLoop::spec() const { return impl_->spec(); }

}  // namespace litetrain
