// Checkpoint files: every variable of a model in one file numpy can read,
// written and read the same way from C++ and Python (litetrain.checkpoint
// calls these functions).
//
// Format (version 1): an uncompressed .npz (a zip of .npy files) with one
// array per variable, `<name>.npy`, plus `__litetrain__.npy`: a uint8 array
// holding UTF-8 JSON
//
//   {"format": "litetrain-checkpoint", "version": 1,
//    "variables": {"<name>": {"dtype": "float32", "shape": [64, 32]}, ...},
//    "sha256": "<hex>",
//    "training": {"epochs_done": 3, "steps_done": 141, "seed": 0,
//                 "batch_size": 32, "shuffle": true, "drop_remainder": false,
//                 "learning_rate": 0.01}}
//
// where sha256 is taken over the variables in sorted name order (bytewise
// UTF-8), of each: its name, its dtype name (numpy's: "float32"), its shape
// as Python writes a tuple ("(64, 32)", "(10,)"; a scalar as "(1,)", a quirk
// of the first implementation kept for its files), its raw bytes.
// `np.load(path)` reads every array; `np.load(path)["w0"]` one.
//
// "training" (optional; learning_rate optional inside it) is the state of the
// run that wrote the file, so that resuming needs nothing but the file: one
// atomic write holds the weights and the epoch count together. Files without
// it (older ones, or written outside a fit) still load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "litetrain/export.h"
#include "litetrain/snapshot.h"

namespace litetrain {

// Where a training run stood when it wrote a checkpoint: what a resumed run
// needs to see the batches an unbroken one would (the shuffle order of epoch
// e depends only on seed, e and the sample count).
struct TrainingState {
  int64_t epochs_done = 0;
  int64_t steps_done = 0;
  uint64_t seed = 0;
  int64_t batch_size = 0;
  bool shuffle = true;
  bool drop_remainder = false;
  std::optional<float> learning_rate;  // for models with get/set_learning_rate
};

struct Checkpoint {
  Snapshot variables;
  std::optional<TrainingState> training;
};

// Writes `variables` to `path` atomically: a temporary file in the same
// folder, fsync, rename over `path`, fsync of the folder. A reader sees the
// old file or the whole new one, never a part of it.
// Throws InvalidArgument (an empty, repeated or reserved name
// "__litetrain__", a name that is not UTF-8, an unsupported dtype, bytes that
// do not match dtype and shape), FileNotFound (no such folder), IoError.
// `training`, when given, is stored with the variables.
LITETRAIN_API void WriteCheckpoint(const std::string& path, const Snapshot& variables,
                                   const TrainingState* training = nullptr);

// Reads a checkpoint and verifies it: the zip structure, each member's
// CRC-32, the metadata, and the SHA-256 over the variables. Returns them in
// the file's order.
// Throws FileNotFound, IoError, CheckpointError naming the file and the
// problem (damaged, not a litetrain checkpoint, another format version).
LITETRAIN_API Snapshot LoadCheckpoint(const std::string& path);
// The same, with the training state when the file has one.
LITETRAIN_API Checkpoint LoadCheckpointWithState(const std::string& path);

}  // namespace litetrain
