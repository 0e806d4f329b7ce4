"""Post-conversion rewrite of a .tflite: bias additions folded into FULLY_CONNECTED.

The converter fuses a MatMul's bias only when the bias is a constant; a
trainable bias (a variable) stays a separate ADD after FULLY_CONNECTED, one
more op per dense layer per step. FULLY_CONNECTED takes any bias tensor and a
fused activation, so FC(x, W) -> ADD(., b, act) becomes FC(x, W, b, act).
"""

from __future__ import annotations

from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils


def fuse_dense_bias(model_bytes: bytes) -> bytes:
    """Returns the model with every foldable FC + ADD pair folded (unchanged if none)."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    codes = [_builtin_code(c) for c in model.operatorCodes]
    fc_code, add_code = schema.BuiltinOperator.FULLY_CONNECTED, schema.BuiltinOperator.ADD
    changed = False
    for subgraph in model.subgraphs:
        consumers: dict[int, list] = {}
        for op in subgraph.operators:
            for t in op.inputs:
                consumers.setdefault(int(t), []).append(op)
        graph_outputs = {int(t) for t in subgraph.outputs}
        remove: set[int] = set()  # FC operators that move to their ADD's place
        replace: dict[int, object] = {}  # id(ADD) -> the fused FC
        for op in subgraph.operators:
            if codes[op.opcodeIndex] != fc_code or not _fc_without_bias(op):
                continue
            out = int(op.outputs[0])
            users = consumers.get(out, [])
            if out in graph_outputs or len(users) != 1 or codes[users[0].opcodeIndex] != add_code:
                continue
            add = users[0]
            other = [int(t) for t in add.inputs if int(t) != out]
            units = subgraph.tensors[out].shape[-1]
            if len(other) != 1 or list(subgraph.tensors[other[0]].shape) != [units]:
                continue
            bias = other[0]
            if subgraph.tensors[bias].type != subgraph.tensors[out].type:
                continue
            op.inputs = list(op.inputs[:2]) + [bias]
            op.builtinOptions.fusedActivationFunction = add.builtinOptions.fusedActivationFunction
            op.outputs = list(add.outputs)
            # The fused operator takes the ADD's place, not the FC's: the bias may be
            # computed between the two (a variable read again after an update).
            replace[id(add)] = op
            remove.add(id(op))
        if remove:
            changed = True
            subgraph.operators = [replace.get(id(op), op) for op in subgraph.operators if id(op) not in remove]
    if not changed:
        return model_bytes
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _builtin_code(code) -> int:
    # The schema keeps small codes in the deprecated byte field and the real one in builtinCode.
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def _fc_without_bias(op) -> bool:
    inputs = [int(t) for t in op.inputs]
    options = op.builtinOptions
    return (
        (len(inputs) == 2 or (len(inputs) == 3 and inputs[2] == -1))
        and options is not None
        and options.fusedActivationFunction == 0
        and not getattr(options, "keepNumDims", False)
    )
