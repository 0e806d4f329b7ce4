// Where a signature's run spends its time: which operators XNNPACK runs and
// which fall back to LiteRT's builtin kernels, and the time of each, from
// LiteRT's own profiler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "litetrain/export.h"
#include "litetrain/model.h"

namespace litetrain {

// One operator of the signature's subgraph, as the file lists it.
struct OperatorProfile {
  std::size_t index = 0;  // position in the subgraph
  std::string op;         // "FULLY_CONNECTED"
  // Taken by the XNNPACK delegate. Operators outside it run on builtin
  // kernels, which in libLiteRt.so 2.3 are several times slower.
  bool in_xnnpack = false;
  // Mean time per run on builtin kernels; 0 for operators inside XNNPACK
  // (XNNPACK times its own operators: SignatureProfile::xnnpack_operators).
  double microseconds = 0;
  // Why an operator outside XNNPACK is there (empty inside XNNPACK).
  std::string reason;
};

// One operator of XNNPACK's own graph ("Fully Connected (NC, F32) GEMM"), in
// the order a run executes them. XNNPACK fuses and splits TFLite operators,
// so these do not map one to one.
struct XnnpackOperatorProfile {
  std::string name;
  double microseconds = 0;  // mean per run
};

struct SignatureProfile {
  std::string signature;
  int runs = 0;
  double run_microseconds = 0;      // median wall time of a profiled run
  double xnnpack_microseconds = 0;  // mean time per run inside XNNPACK's nodes
  double builtin_microseconds = 0;  // mean time per run on builtin kernels
  std::vector<OperatorProfile> operators;
  std::vector<XnnpackOperatorProfile> xnnpack_operators;

  std::size_t operators_in_xnnpack() const;
};

// Runs `signature` `runs` times (after one unrecorded run) with fixed,
// deterministic inputs (floats in [0, 1), integers 0) at the signature's
// input shapes, their first dimension set to `batch_size` when it is > 0
// (dynamic dimensions: `batch_size`, or 1), and returns where the time went. The profiler records whole
// microseconds per event, so operators far below 1 us read as 0.
// A train signature updates the model's weights while it is profiled.
// Throws InvalidArgument when the model was not loaded with
// ModelOptions::profiling, the signature does not exist, or runs < 1.
LITETRAIN_API SignatureProfile ProfileSignature(const Model& model, std::string_view signature, int runs,
                                                int batch_size = 0);

// A table of the profile: operators outside XNNPACK first, with their share
// of the run, then XNNPACK's operators.
LITETRAIN_API std::string DescribeProfile(const SignatureProfile& profile);

}  // namespace litetrain
