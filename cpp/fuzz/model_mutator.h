// Structure-aware mutation of a .tflite file for the model fuzzer: rewrites
// the fields the checker guards (operator input and output indices, opcode
// indices, tensor buffers, types and shapes, signature tensors and
// subgraphs) in place, so that a mutant keeps a valid FlatBuffers structure
// and reaches the semantic checks and LiteRT instead of dying in the
// structural verifier as most byte flips do.
#pragma once

#include <cstddef>
#include <cstdint>

namespace litetrain::fuzz {

// Changes 1-3 fields of the model in `data` (same size). Returns false, with
// `data` untouched, when the bytes are no verifiable model or hold no field
// to change: the caller then mutates bytes.
bool MutateModelFields(uint8_t* data, std::size_t size, unsigned seed);

}  // namespace litetrain::fuzz
