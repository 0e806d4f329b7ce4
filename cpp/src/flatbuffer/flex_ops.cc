#include "flatbuffer/flex_ops.h"

#include <set>

#include "litetrain/errors.h"
#include "tflite_generated.h"

namespace litetrain {

void RefuseFlexOps(const uint8_t* data, std::size_t /*size*/, const std::string& source) {
  const tflite_fb::Model& model = *tflite_fb::GetModel(data);
  if (model.operator_codes() == nullptr) return;
  std::set<std::string> flex;
  for (const tflite_fb::OperatorCode* code : *model.operator_codes()) {
    if (code == nullptr || code->custom_code() == nullptr) continue;
    const std::string name = code->custom_code()->str();
    if (name.rfind("Flex", 0) == 0) flex.insert(name.substr(4));
  }
  if (flex.empty()) return;
  std::string names;
  for (const std::string& name : flex) names += (names.empty() ? "" : ", ") + name;
  throw InvalidArgument(
      source + " uses TensorFlow ops through the Flex delegate (" + names +
      "): litetrain runs TFLite builtin ops only. Make the file again from its source: a Keras model with "
      "litetrain.build(model, ...), a tf.Module written for TensorFlow's on-device training recipe with "
      "litetrain.convert(module); both write gradients and checkpoints in builtin ops, and name what they "
      "cannot");
}

}  // namespace litetrain
