#include "litetrain/profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "aligned_buffer.h"
#include "compiled_model.h"
#include "flatbuffer/builtin_codes.h"
#include "flatbuffer/model_file.h"
#include "litert/status.h"
#include "litetrain/compatibility.h"
#include "litetrain/errors.h"
#include "litetrain/signature_runner.h"
#include "model_internals.h"

namespace litetrain {
namespace {

// One profiler event, the fields litetrain reads.
struct Event {
  std::string tag;
  uint32_t type = 0;
  uint64_t elapsed_us = 0;
  uint64_t node = 0;      // metadata1 of operator events
  uint64_t subgraph = 0;  // metadata2 of operator events
};

// LiteRT copies its event records (ProfiledEventData) into the caller's
// array, and their size changed between releases: the memory-usage fields
// are three or four 8-byte words. The record size is measured by letting
// LiteRT fill a buffer preset to two patterns and finding where its writes end.
struct RecordLayout {
  std::size_t size;
  std::size_t metadata1;  // metadata2 follows it
};
constexpr RecordLayout kLayouts[] = {{104, 80}, {120, 96}};
constexpr std::size_t kMaxRecordSize = 256;

std::vector<uint8_t> FetchRecords(const litert::Api& api, LiteRtProfiler profiler, int count, uint8_t pattern) {
  std::vector<uint8_t> bytes(static_cast<std::size_t>(count) * kMaxRecordSize, pattern);
  litert::Check(api.LiteRtGetProfilerEvents(profiler, count, bytes.data()), "LiteRtGetProfilerEvents");
  return bytes;
}

std::size_t WrittenBytes(const std::vector<uint8_t>& bytes, uint8_t pattern) {
  std::size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == pattern) --end;
  return end;
}

std::vector<Event> ReadEvents(const litert::Api& api, LiteRtProfiler profiler) {
  int count = 0;
  litert::Check(api.LiteRtGetNumProfilerEvents(profiler, &count), "LiteRtGetNumProfilerEvents");
  if (count <= 0) return {};
  const std::vector<uint8_t> first = FetchRecords(api, profiler, count, 0x00);
  const std::vector<uint8_t> second = FetchRecords(api, profiler, count, 0xFF);
  const std::size_t written = std::max(WrittenBytes(first, 0x00), WrittenBytes(second, 0xFF));
  const RecordLayout* layout = nullptr;
  for (const RecordLayout& candidate : kLayouts) {
    const std::size_t total = candidate.size * static_cast<std::size_t>(count);
    if (written <= total && written + 8 > total) layout = &candidate;
  }
  if (layout == nullptr) {
    throw RuntimeFailure("LiteRT's profiler wrote " + std::to_string(written) + " bytes for " + std::to_string(count) +
                             " events, a record size litetrain does not know; profiling needs "
                             "ai-edge-litert 2.3",
                         kLiteRtStatusErrorUnsupported);
  }
  std::vector<Event> events(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < events.size(); ++i) {
    const uint8_t* record = first.data() + i * layout->size;
    const char* tag = nullptr;
    int32_t type = 0;
    std::memcpy(&tag, record, sizeof tag);
    std::memcpy(&type, record + 8, sizeof type);
    std::memcpy(&events[i].elapsed_us, record + 24, sizeof(uint64_t));
    std::memcpy(&events[i].node, record + layout->metadata1, sizeof(uint64_t));
    std::memcpy(&events[i].subgraph, record + layout->metadata1 + 8, sizeof(uint64_t));
    events[i].tag = tag ? tag : "";
    events[i].type = static_cast<uint32_t>(type);
  }
  return events;
}

// Deterministic inputs at the signature's shapes, dynamic dimensions set to
// `batch_size` (or 1).
struct Inputs {
  std::vector<AlignedBuffer> storage;
  std::vector<ConstTensorView> views;
};

Inputs MakeInputs(const SignatureSpec& spec, int batch_size) {
  Inputs inputs;
  uint32_t state = 12345;
  for (const TensorSpec& tensor : spec.inputs) {
    Shape shape = tensor.shape;
    for (int d = 0; d < shape.rank(); ++d) {
      if (shape[d] < 0) shape[d] = batch_size > 0 ? batch_size : 1;
    }
    if (batch_size > 0 && shape.rank() > 0 && !tensor.shape.has_dynamic_dims()) shape[0] = batch_size;
    const std::size_t count = static_cast<std::size_t>(shape.num_elements());
    AlignedBuffer buffer(count * ItemSize(tensor.dtype));
    std::memset(buffer.data(), 0, buffer.size());
    if (tensor.dtype == DType::kFloat32) {
      float* values = static_cast<float*>(buffer.data());
      for (std::size_t i = 0; i < count; ++i) {
        state = state * 1664525u + 1013904223u;
        values[i] = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
      }
    }
    inputs.views.push_back(ConstTensorView{tensor.dtype, shape, buffer.data()});
    inputs.storage.push_back(std::move(buffer));
  }
  return inputs;
}

// Builtin codes whose second input is a filter or weight matrix XNNPACK
// only takes when it is constant (or, for FULLY_CONNECTED, with a flag).
using builtin::kConv2d, builtin::kDepthwiseConv2d, builtin::kFullyConnected, builtin::kTransposeConv;

bool IsConstant(const fb::ModelT& model, const fb::SubGraphT& subgraph, int32_t tensor) {
  if (tensor < 0 || static_cast<std::size_t>(tensor) >= subgraph.tensors.size()) return false;
  const uint32_t buffer = subgraph.tensors[static_cast<std::size_t>(tensor)]->buffer;
  return buffer != 0 && buffer < model.buffers.size() &&
         (!model.buffers[buffer]->data.empty() || model.buffers[buffer]->size > 0);
}

// The operators LiteRT's XNNPACK delegate has a kernel for (its node
// visitor, tflite/delegates/xnnpack/xnnpack_delegate.cc). Whether it takes a
// given one also depends on types, shapes and options.
bool XnnpackHasKernel(const std::string& op) {
  // clang-format off
  static const std::set<std::string> kOperators = {
      "ABS", "ADD", "ASSIGN_VARIABLE", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CEIL", "CONCATENATION", "CONV_2D", "COS",
      "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE", "DIV", "ELU", "EXP", "EXPAND_DIMS", "FLOOR",
      "FULLY_CONNECTED", "GELU", "HARD_SWISH", "LEAKY_RELU", "LOG", "LOGISTIC", "MAX_POOL_2D", "MAXIMUM", "MEAN",
      "MINIMUM", "MUL", "NEG", "PAD", "PRELU", "QUANTIZE", "READ_VARIABLE", "REDUCE_MAX", "REDUCE_MIN", "RELU",
      "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "ROUND", "RSQRT", "SIN", "SLICE", "SOFTMAX",
      "SPACE_TO_DEPTH", "SPLIT", "SQRT", "SQUARE", "SQUARED_DIFFERENCE", "STRIDED_SLICE", "SUB", "SUM", "TANH",
      "TRANSPOSE", "TRANSPOSE_CONV", "VAR_HANDLE"};
  // clang-format on
  return kOperators.count(op) > 0;
}

// Why XNNPACK did not take an operator, as far as the file and the options
// tell. The delegate's own checks (types, options, shapes) are not visible.
std::string ReasonOutside(const fb::ModelT& model, const fb::SubGraphT& subgraph, const fb::OperatorT& op, int32_t code,
                          const std::string& name, const CpuOptions& cpu) {
  if (cpu.kernel_mode != KernelMode::kXnnpack) {
    return std::string("kernel mode '") + KernelModeName(cpu.kernel_mode) + "'";
  }
  if (!XnnpackHasKernel(name)) return "XNNPACK has no kernel for " + name;
  const int32_t weights = op.inputs.size() > 1 ? op.inputs[1] : -1;
  if (code == kFullyConnected && !IsConstant(model, subgraph, weights) &&
      (cpu.xnnpack_flags & xnnpack_flags::kDynamicFullyConnected) == 0) {
    return "weights are not constant and the DYNAMIC_FULLY_CONNECTED flag is off";
  }
  if ((code == kConv2d || code == kDepthwiseConv2d) && !IsConstant(model, subgraph, weights)) {
    return "XNNPACK takes convolutions with constant filters only";
  }
  if (code == kTransposeConv && !(op.inputs.size() > 1 && IsConstant(model, subgraph, op.inputs[1]))) {
    return "XNNPACK takes transposed convolutions with constant filters only";
  }
  return "XNNPACK has a kernel for " + name +
         " but not for these tensors or options (e.g. integer or rank-0 tensors, a -1 size, "
         "more inputs than it takes)";
}

// The signature's subgraph, its operators named and the reason each would
// be outside XNNPACK.
struct SubgraphOperators {
  int32_t subgraph = 0;
  std::vector<std::string> names;
  std::vector<std::string> reasons;
};

SubgraphOperators DescribeOperators(const detail::CompiledModel& model, const SignatureSpec& spec) {
  const auto* data = static_cast<const uint8_t*>(model.bytes().data());
  const std::unique_ptr<fb::ModelT> tree = ReadModelTree(data, model.bytes().size());
  const std::vector<OperatorUse> codes = ListOperators(data, model.bytes().size());
  SubgraphOperators out;
  // A model without SignatureDefs has LiteRT's one placeholder signature: the main subgraph.
  if (!tree->signature_defs.empty())
    out.subgraph = static_cast<int32_t>(tree->signature_defs.at(spec.index)->subgraph_index);
  const fb::SubGraphT& subgraph = *tree->subgraphs.at(out.subgraph);
  for (const auto& op : subgraph.operators) {
    const OperatorUse& code = codes.at(op->opcode_index);
    out.names.push_back(code.name);
    out.reasons.push_back(ReasonOutside(*tree, subgraph, *op, code.builtin_code, code.name, model.options().cpu));
  }
  return out;
}

// XNNPACK's operators in the order one run executes them, each with its mean
// time; every run records the same sequence. Should the count not divide
// into runs (a profiler buffer that filled up), operators are summed by name.
std::vector<XnnpackOperatorProfile> XnnpackOperators(const std::vector<const Event*>& events, int runs) {
  std::vector<XnnpackOperatorProfile> out;
  const std::size_t per_run = events.size() / static_cast<std::size_t>(runs);
  bool repeats = per_run > 0 && events.size() % static_cast<std::size_t>(runs) == 0;
  for (std::size_t i = per_run; repeats && i < events.size(); ++i) repeats = events[i]->tag == events[i % per_run]->tag;
  if (repeats) {
    for (std::size_t i = 0; i < per_run; ++i) out.push_back({events[i]->tag, 0.0});
    for (std::size_t i = 0; i < events.size(); ++i) out[i % per_run].microseconds += events[i]->elapsed_us;
  } else {
    std::map<std::string, std::size_t> by_name;
    for (const Event* event : events) {
      const auto [slot, added] = by_name.emplace(event->tag, out.size());
      if (added) out.push_back({event->tag, 0.0});
      out[slot->second].microseconds += event->elapsed_us;
    }
  }
  for (XnnpackOperatorProfile& op : out) op.microseconds /= runs;
  return out;
}

}  // namespace

std::size_t SignatureProfile::operators_in_xnnpack() const {
  return static_cast<std::size_t>(
      std::count_if(operators.begin(), operators.end(), [](const OperatorProfile& op) { return op.in_xnnpack; }));
}

SignatureProfile ProfileSignature(const Model& model, std::string_view signature, int runs, int batch_size) {
  detail::CompiledModel& compiled = *detail::ModelInternals::Compiled(model);
  if (compiled.profiler() == nullptr) {
    throw InvalidArgument(
        "the model was loaded without profiling: load it with ModelOptions::profiling "
        "(Python: litetrain.profile)");
  }
  if (runs < 1) throw InvalidArgument("runs must be >= 1, got " + std::to_string(runs));
  if (batch_size < 0) throw InvalidArgument("batch_size must be >= 0, got " + std::to_string(batch_size));
  const SignatureSpec& spec = model.signature(signature);
  SignatureRunner runner = model.runner(signature);
  const Inputs inputs = MakeInputs(spec, batch_size);
  const litert::Api& api = compiled.api();
  const LiteRtProfiler profiler = compiled.profiler();

  runner.Run(inputs.views);  // first run: allocation and packing, not recorded
  std::vector<double> wall;
  {
    std::lock_guard<std::mutex> lock(compiled.run_mutex());
    litert::Check(api.LiteRtResetProfiler(profiler), "LiteRtResetProfiler");
    litert::Check(api.LiteRtStartProfiler(profiler), "LiteRtStartProfiler");
  }
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    runner.Run(inputs.views);
    wall.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::vector<Event> events;
  {
    std::lock_guard<std::mutex> lock(compiled.run_mutex());
    litert::Check(api.LiteRtStopProfiler(profiler), "LiteRtStopProfiler");
    events = ReadEvents(api, profiler);
  }

  SignatureProfile profile;
  profile.signature = spec.key;
  profile.runs = runs;
  std::nth_element(wall.begin(), wall.begin() + wall.size() / 2, wall.end());
  profile.run_microseconds = wall[wall.size() / 2];
  const SubgraphOperators described = DescribeOperators(compiled, spec);
  const std::vector<std::string>& names = described.names;
  const int32_t subgraph = described.subgraph;
  std::vector<uint64_t> builtin_us(names.size(), 0);
  std::vector<bool> ran_builtin(names.size(), false);
  std::vector<const Event*> xnnpack_events;  // in the order they ran
  uint64_t delegate_us = 0;
  // The XNNPACK delegate's nodes record no operator event of their own, only
  // one per operator of XNNPACK's graph: an original operator that never
  // shows up as an operator event ran inside XNNPACK.
  for (const Event& event : events) {
    if (static_cast<int32_t>(event.subgraph) != subgraph) continue;
    if (event.type == kLiteRtProfilerOperatorInvokeEvent) {
      if (event.node < names.size()) {
        builtin_us[event.node] += event.elapsed_us;
        ran_builtin[event.node] = true;
      }
    } else if (event.type == kLiteRtProfilerDelegateOperatorInvokeEvent ||
               event.type == kLiteRtProfilerDelegateProfiledOperatorInvokeEvent) {
      delegate_us += event.elapsed_us;
      xnnpack_events.push_back(&event);
    }
  }
  uint64_t builtin_total = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    OperatorProfile op;
    op.index = i;
    op.op = names[i];
    op.in_xnnpack = !ran_builtin[i];
    op.microseconds = static_cast<double>(builtin_us[i]) / runs;
    if (!op.in_xnnpack) op.reason = described.reasons[i];
    builtin_total += builtin_us[i];
    profile.operators.push_back(std::move(op));
  }
  profile.xnnpack_operators = XnnpackOperators(xnnpack_events, runs);
  profile.xnnpack_microseconds = static_cast<double>(delegate_us) / runs;
  profile.builtin_microseconds = static_cast<double>(builtin_total) / runs;
  return profile;
}

std::string DescribeProfile(const SignatureProfile& profile) {
  char line[256];
  std::string text;
  const double total = profile.xnnpack_microseconds + profile.builtin_microseconds;
  auto share = [&](double us) { return total > 0 ? 100.0 * us / total : 0.0; };
  std::snprintf(line, sizeof line,
                "signature '%s': %zu of %zu operators in XNNPACK; %.1f us per run (median of %d), "
                "%.1f us in XNNPACK (%.0f%%), %.1f us on builtin kernels (%.0f%%)\n",
                profile.signature.c_str(), profile.operators_in_xnnpack(), profile.operators.size(),
                profile.run_microseconds, profile.runs, profile.xnnpack_microseconds,
                share(profile.xnnpack_microseconds), profile.builtin_microseconds, share(profile.builtin_microseconds));
  text += line;
  bool header = false;
  for (const OperatorProfile& op : profile.operators) {
    if (op.in_xnnpack) continue;
    if (!header) text += "  outside XNNPACK (builtin kernels):\n";
    header = true;
    std::snprintf(line, sizeof line, "    #%-4zu %-24s %8.1f us %5.1f%%  %s\n", op.index, op.op.c_str(),
                  op.microseconds, share(op.microseconds), op.reason.c_str());
    text += line;
  }
  if (!profile.xnnpack_operators.empty()) text += "  inside XNNPACK (its own operators, in the order they run):\n";
  for (const XnnpackOperatorProfile& op : profile.xnnpack_operators) {
    std::snprintf(line, sizeof line, "    %-48s %9.1f us %5.1f%%\n", op.name.c_str(), op.microseconds,
                  share(op.microseconds));
    text += line;
  }
  return text;
}

}  // namespace litetrain
