// A .tflite file as an editable tree (FlatBuffers' object API over our schema,
// cpp/schema/tflite.fbs) and back to bytes.
//
// Reading verifies the bytes first, pulls buffers that large files keep after
// the flatbuffer into the tree, and refuses anything the tree could not carry
// through unchanged (fields or union members newer than our schema): a
// rewrite must never drop part of a model silently.
//
// Writing decides which empty vectors stay present: the object API would
// write every empty vector as absent, and runtimes read some absences as
// errors (tflite-runtime 2.14: "NULL SignatureDef inputs for exported method
// save") or as unknown rank (a scalar's empty shape).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tflite_generated.h"

namespace litetrain {

namespace fb = tflite_fb;

// Verifies `data` (VerifyModel) and unpacks it. Throws ModelFormatError.
std::unique_ptr<fb::ModelT> ReadModelTree(const uint8_t* data, std::size_t size);

struct WriteModelOptions {
  // Place buffer data after the flatbuffer (offset/size in each Buffer), the
  // layout of files over 2 GB. Chosen automatically when the data would not
  // fit in a flatbuffer; tests force it to exercise the layout on small models.
  bool force_appended_buffers = false;
};

// Serialises `model`. Constant data is 16-byte aligned inside the flatbuffer
// (the schema's force_align) or 64-byte aligned when appended.
std::vector<uint8_t> WriteModelTree(const fb::ModelT& model, const WriteModelOptions& options = {});

}  // namespace litetrain
