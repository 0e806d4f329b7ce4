#include "signature_data.h"

#include "litetrain/errors.h"

namespace litetrain::detail {

std::vector<std::size_t> MatchColumns(const Dataset& data, const SignatureSpec& spec) {
  std::vector<std::size_t> columns(spec.inputs.size(), data.columns().size());
  for (std::size_t c = 0; c < data.columns().size(); ++c) {
    const Dataset::Column& column = data.columns()[c];
    const std::size_t i = spec.input_index(column.name);  // throws for an unknown name
    columns[i] = c;
    const TensorSpec& input = spec.inputs[i];
    const std::string where = "training array '" + column.name + "'";
    if (column.data.dtype != input.dtype) {
      throw InvalidArgument(where + " must be " + std::string(DTypeName(input.dtype)) + ", got " +
                            std::string(DTypeName(column.data.dtype)));
    }
    bool fits = input.shape.rank() >= 1 && column.data.shape.rank() == input.shape.rank();
    for (int d = 1; fits && d < input.shape.rank(); ++d) {
      fits = input.shape[d] < 0 || input.shape[d] == column.data.shape[d];
    }
    if (!fits) {
      Shape sample_spec = input.shape;
      sample_spec[0] = -1;
      throw InvalidArgument(where + " has shape " + column.data.shape.to_string() + "; input '" + input.name +
                            "' of signature '" + spec.key + "' takes batches of shape " + input.shape.to_string() +
                            ", so the array must have shape " + sample_spec.to_string() +
                            " with any number of samples first");
    }
  }
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == data.columns().size()) {
      throw InvalidArgument("no training array for input '" + spec.inputs[i].name + "' of signature '" + spec.key +
                            "'");
    }
  }
  return columns;
}

int64_t FixedBatch(const SignatureSpec& spec) {
  for (const TensorSpec& input : spec.inputs) {
    if (input.shape.rank() >= 1 && input.shape[0] >= 0) return input.shape[0];
  }
  return -1;
}

const SignatureSpec* FindSignature(const Model& model, const std::string& key) {
  for (const SignatureSpec& spec : model.signatures()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

}  // namespace litetrain::detail
