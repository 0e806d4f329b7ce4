#include "flatbuffer/model_file.h"

#include <cstring>
#include <string>

#include "flatbuffer/model_verifier.h"
#include "litetrain/errors.h"

namespace litetrain {
namespace {

using flatbuffers::Offset;
using flatbuffers::voffset_t;

[[noreturn]] void Refuse(const std::string& what) {
  throw ModelFormatError("litetrain cannot rewrite this model without losing part of it: " + what +
                         " (written by a newer converter than litetrain's schema knows)");
}

// Bytes of the vtable our schema knows for a table whose last field has
// vtable slot `last_slot`.
constexpr voffset_t Known(voffset_t last_slot) { return last_slot + sizeof(voffset_t); }

// True if the table has a field past the ones our schema declares: the
// object API would drop it without a word.
bool HasUnknownFields(const void* table, voffset_t known_vtable_bytes) {
  if (table == nullptr) return false;
  const uint8_t* vtable = reinterpret_cast<const flatbuffers::Table*>(table)->GetVTable();
  const voffset_t vtable_bytes = flatbuffers::ReadScalar<voffset_t>(vtable);
  for (voffset_t slot = known_vtable_bytes; slot + sizeof(voffset_t) <= vtable_bytes; slot += sizeof(voffset_t)) {
    if (flatbuffers::ReadScalar<voffset_t>(vtable + slot) != 0) return true;
  }
  return false;
}

template <typename T>
void CheckFields(const T* table, voffset_t known, const std::string& what) {
  if (HasUnknownFields(table, known)) Refuse(what + " has fields this schema does not know");
}

// The tables a model's structure lives in; option tables are left to the
// union check below (their members are checked by type, not by field).
void CheckKnownFields(const fb::Model& model) {
  CheckFields(&model, Known(fb::Model::VT_EXTERNAL_BUFFERS), "the model table");
  if (model.operator_codes()) {
    for (const fb::OperatorCode* code : *model.operator_codes()) {
      CheckFields(code, Known(fb::OperatorCode::VT_BUILTIN_CODE), "an operator code");
    }
  }
  if (model.buffers()) {
    for (const fb::Buffer* buffer : *model.buffers()) CheckFields(buffer, Known(fb::Buffer::VT_SIZE), "a buffer");
  }
  if (model.metadata()) {
    for (const fb::Metadata* entry : *model.metadata()) {
      CheckFields(entry, Known(fb::Metadata::VT_BUFFER), "a metadata entry");
    }
  }
  if (model.signature_defs()) {
    for (const fb::SignatureDef* signature : *model.signature_defs()) {
      CheckFields(signature, Known(fb::SignatureDef::VT_SUBGRAPH_INDEX), "a signature");
      for (const auto* maps : {signature->inputs(), signature->outputs()}) {
        if (maps == nullptr) continue;
        for (const fb::TensorMap* map : *maps)
          CheckFields(map, Known(fb::TensorMap::VT_TENSOR_INDEX), "a signature tensor");
      }
    }
  }
  if (model.subgraphs() == nullptr) return;
  for (const fb::SubGraph* subgraph : *model.subgraphs()) {
    CheckFields(subgraph, Known(fb::SubGraph::VT_DEBUG_METADATA_INDEX), "a subgraph");
    if (subgraph->tensors()) {
      for (const fb::Tensor* tensor : *subgraph->tensors()) {
        CheckFields(tensor, Known(fb::Tensor::VT_EXTERNAL_BUFFER), "a tensor");
        CheckFields(tensor->quantization(), Known(fb::QuantizationParameters::VT_QUANTIZED_DIMENSION),
                    "a tensor's quantization");
      }
    }
    if (subgraph->operators()) {
      for (const fb::Operator* op : *subgraph->operators()) {
        CheckFields(op, Known(fb::Operator::VT_DEBUG_METADATA_INDEX), "an operator");
      }
    }
  }
}

// A union member the object API did not recognise unpacks as a null value
// with its type kept; packing would then write the type without the table.
void CheckUnionMembers(const fb::ModelT& model) {
  for (std::size_t s = 0; s < model.subgraphs.size(); ++s) {
    const fb::SubGraphT& subgraph = *model.subgraphs[s];
    for (std::size_t o = 0; o < subgraph.operators.size(); ++o) {
      const fb::OperatorT& op = *subgraph.operators[o];
      const std::string where = "subgraph " + std::to_string(s) + " operator " + std::to_string(o);
      if (op.builtin_options.type != fb::BuiltinOptions::NONE && op.builtin_options.value == nullptr) {
        Refuse(where + " has options of unknown type " + std::to_string(static_cast<int>(op.builtin_options.type)));
      }
      if (op.builtin_options_2.type != fb::BuiltinOptions2::NONE && op.builtin_options_2.value == nullptr) {
        Refuse(where + " has options of unknown type " + std::to_string(static_cast<int>(op.builtin_options_2.type)) +
               " (second options union)");
      }
    }
    for (std::size_t t = 0; t < subgraph.tensors.size(); ++t) {
      const fb::TensorT& tensor = *subgraph.tensors[t];
      const std::string where = "subgraph " + std::to_string(s) + " tensor " + std::to_string(t);
      if (tensor.quantization && tensor.quantization->details.type != fb::QuantizationDetails::NONE &&
          tensor.quantization->details.value == nullptr) {
        Refuse(where + " has quantization details of unknown type");
      }
      if (tensor.sparsity) {
        for (const auto& dim : tensor.sparsity->dim_metadata) {
          if ((dim->array_segments.type != fb::SparseIndexVector::NONE && dim->array_segments.value == nullptr) ||
              (dim->array_indices.type != fb::SparseIndexVector::NONE && dim->array_indices.value == nullptr)) {
            Refuse(where + " has sparse index vectors of unknown type");
          }
        }
      }
    }
  }
}

// Files over 2 GB keep buffer data (and large custom options) after the
// flatbuffer; the tree holds it inline, the writer places it again.
void PullAppendedData(fb::ModelT& model, const uint8_t* data) {
  for (auto& buffer : model.buffers) {
    if (buffer->offset > 1) {
      buffer->data.assign(data + buffer->offset, data + buffer->offset + buffer->size);
      buffer->offset = 0;
      buffer->size = 0;
    }
  }
  for (auto& subgraph : model.subgraphs) {
    for (auto& op : subgraph->operators) {
      if (op->large_custom_options_offset > 1) {
        const uint8_t* begin = data + op->large_custom_options_offset;
        op->custom_options.assign(begin, begin + op->large_custom_options_size);
        op->large_custom_options_offset = 0;
        op->large_custom_options_size = 0;
      }
    }
  }
}

// Packs the tree by hand where the object API's "empty vector = absent" rule
// would change the meaning; leaves (options, quantization) use the generated Pack.
class TreeWriter {
 public:
  explicit TreeWriter(const fb::ModelT& model) : model_(model), fbb_(1 << 16) {}

  // Builds the flatbuffer. With `appended`, non-empty buffers get placeholder
  // offsets (1) that Place() fills in.
  void Build(bool appended) {
    // Data first: the builder writes back to front, so it ends up at the end
    // of the file, after the structure, as converters place it.
    std::vector<Offset<fb::Buffer>> buffers;
    buffers.reserve(model_.buffers.size());
    for (const auto& buffer : model_.buffers) {
      if (buffer->data.empty()) {
        buffers.push_back(fb::CreateBuffer(fbb_));
      } else if (appended) {
        buffers.push_back(fb::CreateBuffer(fbb_, 0, /*offset=*/1, buffer->data.size()));
      } else {
        fbb_.ForceVectorAlignment(buffer->data.size(), sizeof(uint8_t), 16);
        buffers.push_back(fb::CreateBuffer(fbb_, fbb_.CreateVector(buffer->data)));
      }
    }
    auto buffer_vector = fbb_.CreateVector(buffers);

    std::vector<Offset<fb::OperatorCode>> codes;
    for (const auto& code : model_.operator_codes) codes.push_back(fb::OperatorCode::Pack(fbb_, code.get()));
    auto code_vector = fbb_.CreateVector(codes);

    std::vector<Offset<fb::SubGraph>> subgraphs;
    for (const auto& subgraph : model_.subgraphs) subgraphs.push_back(WriteSubgraph(*subgraph));
    auto subgraph_vector = fbb_.CreateVector(subgraphs);

    std::vector<Offset<fb::SignatureDef>> signatures;
    for (const auto& signature : model_.signature_defs) signatures.push_back(WriteSignature(*signature));
    auto signature_vector = fbb_.CreateVector(signatures);

    Offset<flatbuffers::Vector<Offset<fb::Metadata>>> metadata_vector = 0;
    if (!model_.metadata.empty()) {
      std::vector<Offset<fb::Metadata>> metadata;
      for (const auto& entry : model_.metadata) metadata.push_back(fb::Metadata::Pack(fbb_, entry.get()));
      metadata_vector = fbb_.CreateVector(metadata);
    }
    Offset<flatbuffers::Vector<Offset<fb::ExternalBufferGroup>>> groups_vector = 0;
    if (!model_.external_buffer_groups.empty()) {
      std::vector<Offset<fb::ExternalBufferGroup>> groups;
      for (const auto& g : model_.external_buffer_groups)
        groups.push_back(fb::ExternalBufferGroup::Pack(fbb_, g.get()));
      groups_vector = fbb_.CreateVector(groups);
    }
    Offset<flatbuffers::Vector<Offset<fb::ExternalBuffer>>> external_vector = 0;
    if (!model_.external_buffers.empty()) {
      std::vector<Offset<fb::ExternalBuffer>> external;
      for (const auto& e : model_.external_buffers) external.push_back(fb::ExternalBuffer::Pack(fbb_, e.get()));
      external_vector = fbb_.CreateVector(external);
    }
    auto root = fb::CreateModel(fbb_, model_.version, code_vector, subgraph_vector, String(model_.description),
                                buffer_vector, Ints(model_.metadata_buffer, false), metadata_vector, signature_vector,
                                groups_vector, external_vector);
    fb::FinishModelBuffer(fbb_, root);
  }

  std::size_t size() const { return fbb_.GetSize(); }

  // The inline layout: the flatbuffer is the file.
  std::vector<uint8_t> Bytes() const {
    return std::vector<uint8_t>(fbb_.GetBufferPointer(), fbb_.GetBufferPointer() + fbb_.GetSize());
  }

  // The appended layout: the flatbuffer, then each buffer's data at a 64-byte
  // aligned offset from the start of the file, recorded in its Buffer.
  std::vector<uint8_t> AppendedBytes() const {
    std::vector<uint8_t> bytes = Bytes();
    fb::Model* root = fb::GetMutableModel(bytes.data());
    std::size_t end = AlignUp(bytes.size());
    std::vector<std::size_t> offsets(model_.buffers.size(), 0);
    for (std::size_t b = 0; b < model_.buffers.size(); ++b) {
      if (model_.buffers[b]->data.empty()) continue;
      offsets[b] = end;
      end = AlignUp(end + model_.buffers[b]->data.size());
      root->mutable_buffers()->GetMutableObject(static_cast<flatbuffers::uoffset_t>(b))->mutate_offset(offsets[b]);
    }
    bytes.resize(end, 0);
    for (std::size_t b = 0; b < model_.buffers.size(); ++b) {
      const auto& data = model_.buffers[b]->data;
      if (!data.empty()) std::memcpy(bytes.data() + offsets[b], data.data(), data.size());
    }
    return bytes;
  }

  static std::size_t AlignUp(std::size_t n) { return (n + 63) / 64 * 64; }

 private:
  // Vectors the format's readers require present even when empty are
  // written with keep_empty; optional ones stay absent when empty.
  Offset<flatbuffers::Vector<int32_t>> Ints(const std::vector<int32_t>& values, bool keep_empty) {
    if (values.empty() && !keep_empty) return 0;
    return fbb_.CreateVector(values);
  }

  Offset<flatbuffers::String> String(const std::string& text) { return text.empty() ? 0 : fbb_.CreateString(text); }

  Offset<fb::Tensor> WriteTensor(const fb::TensorT& t) {
    auto shape = Ints(t.shape, true);  // a scalar's [] is a rank, not an unknown
    auto name = String(t.name);
    Offset<fb::QuantizationParameters> quantization =
        t.quantization ? fb::QuantizationParameters::Pack(fbb_, t.quantization.get()) : 0;
    Offset<fb::SparsityParameters> sparsity = t.sparsity ? fb::SparsityParameters::Pack(fbb_, t.sparsity.get()) : 0;
    auto signature = Ints(t.shape_signature, false);
    Offset<flatbuffers::Vector<Offset<fb::VariantSubType>>> variants = 0;
    if (!t.variant_tensors.empty()) {
      std::vector<Offset<fb::VariantSubType>> items;
      for (const auto& v : t.variant_tensors) items.push_back(fb::VariantSubType::Pack(fbb_, v.get()));
      variants = fbb_.CreateVector(items);
    }
    return fb::CreateTensor(fbb_, shape, t.type, t.buffer, name, quantization, t.is_variable, sparsity, signature,
                            t.has_rank, variants, t.external_buffer);
  }

  Offset<fb::Operator> WriteOperator(const fb::OperatorT& op) {
    auto inputs = Ints(op.inputs, true);
    auto outputs = Ints(op.outputs, true);
    auto options = op.builtin_options.Pack(fbb_);
    Offset<flatbuffers::Vector<uint8_t>> custom = 0;
    if (!op.custom_options.empty()) custom = fbb_.CreateVector(op.custom_options);
    Offset<flatbuffers::Vector<uint8_t>> mutating = 0;
    if (!op.mutating_variable_inputs.empty()) mutating = fbb_.CreateVector(op.mutating_variable_inputs);
    auto intermediates = Ints(op.intermediates, false);
    auto options_2 = op.builtin_options_2.Pack(fbb_);
    return fb::CreateOperator(fbb_, op.opcode_index, inputs, outputs, op.builtin_options.type, options, custom,
                              op.custom_options_format, mutating, intermediates, op.large_custom_options_offset,
                              op.large_custom_options_size, op.builtin_options_2.type, options_2,
                              op.debug_metadata_index);
  }

  Offset<fb::SubGraph> WriteSubgraph(const fb::SubGraphT& subgraph) {
    std::vector<Offset<fb::Tensor>> tensors;
    tensors.reserve(subgraph.tensors.size());
    for (const auto& t : subgraph.tensors) tensors.push_back(WriteTensor(*t));
    auto tensor_vector = fbb_.CreateVector(tensors);
    auto inputs = Ints(subgraph.inputs, true);
    auto outputs = Ints(subgraph.outputs, true);
    std::vector<Offset<fb::Operator>> operators;
    operators.reserve(subgraph.operators.size());
    for (const auto& op : subgraph.operators) operators.push_back(WriteOperator(*op));
    auto operator_vector = fbb_.CreateVector(operators);
    return fb::CreateSubGraph(fbb_, tensor_vector, inputs, outputs, operator_vector, String(subgraph.name),
                              subgraph.debug_metadata_index);
  }

  Offset<fb::SignatureDef> WriteSignature(const fb::SignatureDefT& signature) {
    // tflite-runtime refuses a signature whose input list is absent ("NULL
    // SignatureDef inputs"), e.g. `save`'s, so both lists are always written.
    std::vector<Offset<fb::TensorMap>> inputs, outputs;
    for (const auto& map : signature.inputs) inputs.push_back(fb::TensorMap::Pack(fbb_, map.get()));
    for (const auto& map : signature.outputs) outputs.push_back(fb::TensorMap::Pack(fbb_, map.get()));
    auto input_vector = fbb_.CreateVector(inputs);
    auto output_vector = fbb_.CreateVector(outputs);
    return fb::CreateSignatureDef(fbb_, input_vector, output_vector, String(signature.signature_key),
                                  signature.subgraph_index);
  }

  const fb::ModelT& model_;
  flatbuffers::FlatBufferBuilder fbb_;
};

}  // namespace

std::unique_ptr<fb::ModelT> ReadModelTree(const uint8_t* data, std::size_t size) {
  try {
    VerifyModel(data, size);
  } catch (const ModelFormatError& e) {
    throw ModelFormatError(std::string("the model is not a valid TFLite model: ") + e.what());
  }
  const fb::Model* root = fb::GetModel(data);
  CheckKnownFields(*root);
  std::unique_ptr<fb::ModelT> model(root->UnPack());
  CheckUnionMembers(*model);
  PullAppendedData(*model, data);
  return model;
}

std::vector<uint8_t> WriteModelTree(const fb::ModelT& model, const WriteModelOptions& options) {
  // The structure alone (buffers as placeholders) tells whether everything
  // fits in one flatbuffer, whose offsets are 32-bit.
  TreeWriter appended(model);
  appended.Build(/*appended=*/true);
  std::size_t total = TreeWriter::AlignUp(appended.size());
  // Inline, each vector also takes a length and up to 15 bytes of padding.
  for (const auto& buffer : model.buffers) total += TreeWriter::AlignUp(buffer->data.size()) + 32;
  if (options.force_appended_buffers || total >= FLATBUFFERS_MAX_BUFFER_SIZE) return appended.AppendedBytes();
  TreeWriter inline_writer(model);
  inline_writer.Build(/*appended=*/false);
  return inline_writer.Bytes();
}

}  // namespace litetrain
