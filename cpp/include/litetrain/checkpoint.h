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
//    "sha256": "<hex>"}
//
// where sha256 is taken over the variables in sorted name order (bytewise
// UTF-8), of each: its name, its dtype name (numpy's: "float32"), its shape
// as Python writes a tuple ("(64, 32)", "(10,)"; a scalar as "(1,)", a quirk
// of the first implementation kept for its files), its raw bytes.
// `np.load(path)` reads every array; `np.load(path)["w0"]` one.
#pragma once

#include <string>

#include "litetrain/export.h"
#include "litetrain/snapshot.h"

namespace litetrain {

// Writes `variables` to `path` atomically: a temporary file in the same
// folder, fsync, rename over `path`, fsync of the folder. A reader sees the
// old file or the whole new one, never a part of it.
// Throws InvalidArgument (an empty, repeated or reserved name
// "__litetrain__", a name that is not UTF-8, an unsupported dtype, bytes that
// do not match dtype and shape), FileNotFound (no such folder), IoError.
LITETRAIN_API void WriteCheckpoint(const std::string& path, const Snapshot& variables);

// Reads a checkpoint and verifies it: the zip structure, each member's
// CRC-32, the metadata, and the SHA-256 over the variables. Returns them in
// the file's order.
// Throws FileNotFound, IoError, CheckpointError naming the file and the
// problem (damaged, not a litetrain checkpoint, another format version).
LITETRAIN_API Snapshot LoadCheckpoint(const std::string& path);

}  // namespace litetrain
