// The checks that stand between untrusted bytes and LiteRT's loader, which
// crashes on damaged files. tests/test_corrupt_models.py adds the end-to-end
// version (hundreds of damaged files, each loaded in its own process).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "aligned_buffer.h"
#include "flatbuffer/builtin_codes.h"
#include "flatbuffer/model_verifier.h"
#include "flatbuffer/operator_inputs.h"
#include "litetrain/errors.h"
#include "test_models.h"
#include "tflite_generated.h"

namespace litetrain {
namespace {

namespace fb = tflite_fb;

class ModelVerifier : public ::testing::Test {
 protected:
  void SetUp() override { original_ = testing::ReadBytes(testing::ModelPath("mlp_fixed.tflite")); }

  // Verifies a copy in aligned memory, as Model does.
  static void Verify(const std::vector<uint8_t>& bytes, std::size_t size) {
    AlignedBuffer copy(size);
    std::memcpy(copy.data(), bytes.data(), size);
    VerifyModel(static_cast<const uint8_t*>(copy.data()), size);
  }

  // Applies `mutate` to a copy of the model and returns the verifier's message.
  std::string ErrorAfter(const std::function<void(fb::Model&)>& mutate) {
    std::vector<uint8_t> bytes = original_;
    mutate(*fb::GetMutableModel(bytes.data()));
    try {
      Verify(bytes, bytes.size());
    } catch (const ModelFormatError& e) {
      return e.what();
    }
    return "accepted";
  }

  std::vector<uint8_t> original_;
};

TEST_F(ModelVerifier, AcceptsAConvertedModel) { EXPECT_NO_THROW(Verify(original_, original_.size())); }

TEST_F(ModelVerifier, RejectsEveryTruncation) {
  int rejected = 0, tried = 0;
  for (std::size_t size = 0; size < original_.size(); size += 1 + original_.size() / 500) {
    ++tried;
    try {
      Verify(original_, size);
    } catch (const ModelFormatError&) {
      ++rejected;
    }
  }
  EXPECT_EQ(rejected, tried);
}

TEST_F(ModelVerifier, RejectsAWrongIdentifier) {
  std::vector<uint8_t> bytes = original_;
  std::memcpy(bytes.data() + 4, "XXXX", 4);
  EXPECT_THROW(Verify(bytes, bytes.size()), ModelFormatError);
}

TEST_F(ModelVerifier, RejectsATensorWithAnOutOfRangeBuffer) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    m.mutable_subgraphs()->GetMutableObject(0)->mutable_tensors()->GetMutableObject(0)->mutate_buffer(60000);
  });
  EXPECT_NE(message.find("buffer 60000"), std::string::npos) << message;
}

// Mutation only rewrites fields that are stored, so these helpers look for
// an object whose field is present (not left at its default).
fb::Operator* OperatorWith(fb::Model& m, const std::function<bool(const fb::Operator&)>& wanted) {
  for (auto* subgraph : *m.mutable_subgraphs()) {
    if (!subgraph->operators()) continue;
    for (auto* op : *subgraph->mutable_operators()) {
      if (wanted(*op)) return op;
    }
  }
  ADD_FAILURE() << "no operator fits";
  return nullptr;
}

TEST_F(ModelVerifier, RejectsAnOperatorWithAnOutOfRangeOpcode) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    auto* op = OperatorWith(m, [](const fb::Operator& o) { return o.opcode_index() != 0; });
    ASSERT_TRUE(op->mutate_opcode_index(999));
  });
  EXPECT_NE(message.find("operator code 999"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsAnOperatorInputPastTheTensors) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    auto* op = OperatorWith(m, [](const fb::Operator& o) { return o.inputs() && o.inputs()->size() > 0; });
    op->mutable_inputs()->Mutate(0, 12345);
  });
  EXPECT_NE(message.find("tensor 12345"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsASignatureOfAMissingSubgraph) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    for (auto* signature : *m.mutable_signature_defs()) {
      if (signature->subgraph_index() != 0) {
        ASSERT_TRUE(signature->mutate_subgraph_index(77));
        return;
      }
    }
    ADD_FAILURE() << "every signature uses subgraph 0";
  });
  EXPECT_NE(message.find("subgraph 77"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsASignatureTensorPastTheTensors) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    auto* signature = m.mutable_signature_defs()->GetMutableObject(0);
    signature->mutable_outputs()->GetMutableObject(0)->mutate_tensor_index(54321);
  });
  EXPECT_NE(message.find("tensor 54321"), std::string::npos) << message;
}

// LiteRT names subgraph inputs through the signature; one left unnamed made it
// construct std::string from a null pointer (found by cpp/fuzz/fuzz_model).
TEST_F(ModelVerifier, RejectsASignatureNamingATensorTwice) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    for (auto* signature : *m.mutable_signature_defs()) {
      auto* inputs = signature->mutable_inputs();
      if (inputs == nullptr || inputs->size() < 2) continue;
      // A field at its default (tensor 0) is not stored and cannot be mutated:
      // try both directions.
      if (inputs->GetMutableObject(1)->mutate_tensor_index(inputs->Get(0)->tensor_index()) ||
          inputs->GetMutableObject(0)->mutate_tensor_index(inputs->Get(1)->tensor_index())) {
        return;
      }
    }
    ADD_FAILURE() << "no signature has two inputs with a stored tensor index";
  });
  EXPECT_NE(message.find("another entry already names"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsAComputedTensorOfGigabytes) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    for (auto* subgraph : *m.mutable_subgraphs()) {
      for (auto* tensor : *subgraph->mutable_tensors()) {
        const auto* buffer = m.buffers()->Get(tensor->buffer());
        const auto* shape = tensor->shape();
        if ((buffer->data() == nullptr || buffer->data()->size() == 0) && shape && shape->size() > 0 &&
            std::all_of(shape->begin(), shape->end(), [](int32_t d) { return d > 0; })) {
          tensor->mutable_shape()->Mutate(0, 0x7fffffff);
          return;
        }
      }
    }
  });
  EXPECT_NE(message.find("a computed tensor may take"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsAShapeThatDisagreesWithItsData) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    // Find a tensor with constant data and double its first dimension.
    for (auto* subgraph : *m.mutable_subgraphs()) {
      for (auto* tensor : *subgraph->mutable_tensors()) {
        const auto* buffer = m.buffers()->Get(tensor->buffer());
        if (buffer->data() && buffer->data()->size() > 0 && tensor->shape() && tensor->shape()->size() > 0 &&
            tensor->shape()->Get(0) > 0) {
          tensor->mutable_shape()->Mutate(0, tensor->shape()->Get(0) * 2);
          return;
        }
      }
    }
  });
  EXPECT_NE(message.find("bytes of data"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsAConstantShapedToNoElements) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    // A constant declared empty that keeps its data (SUM's axes [3] -> [0]).
    for (auto* subgraph : *m.mutable_subgraphs()) {
      for (auto* tensor : *subgraph->mutable_tensors()) {
        const auto* buffer = m.buffers()->Get(tensor->buffer());
        if (buffer->data() && buffer->data()->size() > 0 && tensor->shape() && tensor->shape()->size() > 0) {
          tensor->mutable_shape()->Mutate(0, 0);
          return;
        }
      }
    }
  });
  EXPECT_NE(message.find("needs 0 bytes of data"), std::string::npos) << message;
}

TEST(BuiltinCodes, NameTheOperatorsOfTheRuntimesTable) {
  const std::pair<int32_t, const char*> codes[] = {
      {builtin::kAdd, "ADD"},
      {builtin::kConv2d, "CONV_2D"},
      {builtin::kDepthwiseConv2d, "DEPTHWISE_CONV_2D"},
      {builtin::kFullyConnected, "FULLY_CONNECTED"},
      {builtin::kMul, "MUL"},
      {builtin::kReshape, "RESHAPE"},
      {builtin::kCustom, "CUSTOM"},
      {builtin::kPad, "PAD"},
      {builtin::kTranspose, "TRANSPOSE"},
      {builtin::kSub, "SUB"},
      {builtin::kDiv, "DIV"},
      {builtin::kSqueeze, "SQUEEZE"},
      {builtin::kCast, "CAST"},
      {builtin::kMaximum, "MAXIMUM"},
      {builtin::kMinimum, "MINIMUM"},
      {builtin::kPadV2, "PADV2"},
      {builtin::kTransposeConv, "TRANSPOSE_CONV"},
      {builtin::kExpandDims, "EXPAND_DIMS"},
      {builtin::kOneHot, "ONE_HOT"},
      {builtin::kSquaredDifference, "SQUARED_DIFFERENCE"},
      {builtin::kMirrorPad, "MIRROR_PAD"},
      {builtin::kIf, "IF"},
      {builtin::kWhile, "WHILE"},
      {builtin::kCallOnce, "CALL_ONCE"},
      {builtin::kVarHandle, "VAR_HANDLE"},
      {builtin::kReadVariable, "READ_VARIABLE"},
      {builtin::kAssignVariable, "ASSIGN_VARIABLE"},
  };
  for (const auto& [code, name] : codes) {
    EXPECT_EQ(detail::BuiltinOperatorName(code), std::string(name) + " (" + std::to_string(code) + ")");
  }
}

TEST_F(ModelVerifier, RejectsOneVariableReadAtTwoInputs) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    // SUB(w, w): the variable update's second operand moved onto its first.
    using builtin::kReadVariable, builtin::kSub;
    auto code = [&](const fb::Operator* op) { return m.operator_codes()->Get(op->opcode_index())->builtin_code(); };
    for (auto* subgraph : *m.mutable_subgraphs()) {
      std::vector<int32_t> reads;
      for (auto* op : *subgraph->mutable_operators()) {
        if (code(op) == kReadVariable) reads.push_back(op->outputs()->Get(0));
        if (code(op) == kSub && std::count(reads.begin(), reads.end(), op->inputs()->Get(0)) > 0) {
          op->mutable_inputs()->Mutate(1, op->inputs()->Get(0));
          return;
        }
      }
    }
  });
  EXPECT_NE(message.find("a READ_VARIABLE result, at inputs 0 and 1"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsATensorWrittenTwice) {
  // Found by the corruption suite: one flipped bit turned VAR_HANDLE's output
  // into another operator's output tensor, and running `infer` crashed.
  const std::string message = ErrorAfter([](fb::Model& m) {
    for (auto* subgraph : *m.mutable_subgraphs()) {
      int32_t first_output = -1;
      for (auto* op : *subgraph->mutable_operators()) {
        if (!op->outputs() || op->outputs()->size() == 0) continue;
        if (first_output < 0) {
          first_output = op->outputs()->Get(0);
        } else {
          op->mutable_outputs()->Mutate(0, first_output);
          return;
        }
      }
    }
  });
  EXPECT_NE(message.find("which an earlier operator wrote"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsAReadBeforeAnyWrite) {
  const std::string message = ErrorAfter([](fb::Model& m) {
    // Make the first operator that reads an operator's output read the last
    // operator's output instead: not written yet when it runs.
    auto* subgraph = m.mutable_subgraphs()->GetMutableObject(0);
    auto* ops = subgraph->mutable_operators();
    const int32_t late = ops->Get(ops->size() - 1)->outputs()->Get(0);
    for (auto* op : *ops) {
      // Not a variable op: moving its handle would fail the RESOURCE check first.
      if (op->inputs() && op->inputs()->size() > 0 && op != ops->Get(ops->size() - 1) && op->inputs()->Get(0) >= 0 &&
          subgraph->tensors()->Get(op->inputs()->Get(0))->type() != fb::TensorType::RESOURCE) {
        op->mutable_inputs()->Mutate(0, late);
        return;
      }
    }
  });
  EXPECT_NE(message.find("before anything writes it"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsAVariableReadWithAnotherShape) {
  // Found by the corruption suite: a flipped bit in the shape of what `save`
  // reads from a variable made LiteRT copy past the variable (SIGSEGV).
  const std::string message = ErrorAfter([](fb::Model& m) {
    for (auto* subgraph : *m.mutable_subgraphs()) {
      if (!subgraph->operators()) continue;
      for (auto* op : *subgraph->mutable_operators()) {
        const auto* code = m.operator_codes()->Get(op->opcode_index());
        if (code->builtin_code() != 143 || !op->outputs()) continue;  // READ_VARIABLE
        auto* tensor = subgraph->mutable_tensors()->GetMutableObject(static_cast<uint32_t>(op->outputs()->Get(0)));
        if (tensor->shape() && tensor->shape()->size() > 0) {
          tensor->mutable_shape()->Mutate(0, tensor->shape()->Get(0) + 4096);
          return;
        }
      }
    }
  });
  EXPECT_NE(message.find("in variable"), std::string::npos) << message;
}

TEST_F(ModelVerifier, RejectsAnUnknownSchemaVersion) {
  EXPECT_NE(ErrorAfter([](fb::Model& m) { m.mutate_version(99); }).find("version 99"), std::string::npos);
}

}  // namespace
}  // namespace litetrain
