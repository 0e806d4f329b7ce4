// Checks untrusted bytes before LiteRT reads them.
//
// LiteRT's C API does not verify a model: truncated or bit-flipped files kill
// the process inside model loading. So every model passes two checks first:
// the FlatBuffers verifier over the TFLite schema (cpp/schema/tflite.fbs), and
// the semantic checks a structural verifier cannot make (indices in range,
// buffer sizes consistent with tensor shapes and types).
#pragma once

#include <cstddef>
#include <cstdint>

namespace litetrain {

// Throws ModelFormatError saying what is wrong.
void VerifyModel(const uint8_t* data, std::size_t size);

}  // namespace litetrain
