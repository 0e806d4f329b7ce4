"""Post-conversion rewrites of a .tflite, so that a training step stays inside XNNPACK.

- Bias additions folded in: the converter fuses a MatMul's bias only when the
  bias is a constant; a trainable bias (a variable) stays a separate ADD after
  FULLY_CONNECTED, one more op per dense layer per step. FULLY_CONNECTED takes
  any bias tensor and a fused activation, so FC(x, W) -> ADD(., b, act)
  becomes FC(x, W, b, act).
- keep_num_dims on matrix inputs: without it XNNPACK flattens the input with a
  reshape of its own, which copies it (every dense layer's input, every
  convolution's patches, each step); for an input of rank 2 the result is the
  same either way.
- ADD_N (TensorFlow's sum of the gradients a tensor gets from several uses)
  as a chain of ADDs: XNNPACK has no ADD_N; the ADDs add in ADD_N's order.
- Matrix products in the form XNNPACK runs fastest (products.py).
- A variable read for each use of a weight, so that XNNPACK reads the
  variable's buffer instead of copying it (variable_reads.py).
"""

from __future__ import annotations

from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from litetrain.tf.builder.flatbuffer_edits import (
    KEEP_NUM_DIMS_VERSION,
    add_op,
    builtin_code,
    operator_code,
    static_shape,
    tensor_like,
)
from litetrain.tf.builder.products import fully_connected_packing_the_batch, matrix_products_as_fully_connected
from litetrain.tf.builder.variable_reads import read_variables_at_each_use


def rewrite_for_xnnpack(model_bytes: bytes, *, portable: bool = False) -> bytes:
    """Returns the model with the rewrites applied (unchanged if none applies).

    `portable`: only those that help any runtime (biases folded, keep_num_dims,
    ADD_N as ADDs). The others pay off where XNNPACK runs FULLY_CONNECTED with computed weights
    (its DYNAMIC_FULLY_CONNECTED flag, litetrain's default) and reads
    variables in place; under LiteRT's or TensorFlow's default options those
    forms run on builtin kernels instead."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    codes = [builtin_code(c) for c in model.operatorCodes]
    changed = False
    for subgraph in model.subgraphs:
        changed |= _fold_biases(subgraph, codes)
        changed |= _keep_matrix_dims(model, subgraph, codes)
        changed |= _add_n_as_adds(model, subgraph, codes)
        if portable:
            continue
        changed |= matrix_products_as_fully_connected(model, subgraph, codes)
        changed |= read_variables_at_each_use(subgraph, codes)
        if any(codes[op.opcodeIndex] == schema.BuiltinOperator.ASSIGN_VARIABLE for op in subgraph.operators):
            # Steps only: an inference signature keeps the usual form, which a baked
            # model (constant weights, packed once) needs.
            changed |= fully_connected_packing_the_batch(model, subgraph, codes)
    if not changed:
        return model_bytes
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _fold_biases(subgraph, codes) -> bool:
    fc_code, add_code = schema.BuiltinOperator.FULLY_CONNECTED, schema.BuiltinOperator.ADD
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
        subgraph.operators = [replace.get(id(op), op) for op in subgraph.operators if id(op) not in remove]
    return bool(remove)


def _keep_matrix_dims(model, subgraph, codes) -> bool:
    changed = False
    flattened: dict[int, int] = {}  # tensor -> an earlier RESHAPE of it to a matrix
    for op in subgraph.operators:
        options = op.builtinOptions
        code = codes[op.opcodeIndex]
        if code == schema.BuiltinOperator.RESHAPE:
            source, out = int(op.inputs[0]), int(op.outputs[0])
            shapes = static_shape(subgraph.tensors[source]), static_shape(subgraph.tensors[out])
            if shapes[0] and shapes[1] and len(shapes[1]) == 2 and shapes[1][-1] == shapes[0][-1]:
                flattened.setdefault(source, out)
        if code != schema.BuiltinOperator.FULLY_CONNECTED or options is None or options.keepNumDims:
            continue
        # The converter feeds FULLY_CONNECTED the unflattened tensor where a reshape
        # of it exists for other uses (a convolution's patches): take that one.
        if int(op.inputs[0]) in flattened:
            op.inputs[0] = flattened[int(op.inputs[0])]
            changed = True
        shape = subgraph.tensors[int(op.inputs[0])].shape
        if shape is None or len(shape) != 2:
            continue
        options.keepNumDims = True
        code = model.operatorCodes[op.opcodeIndex]
        code.version = max(code.version, KEEP_NUM_DIMS_VERSION)
        changed = True
    return changed


def _add_n_as_adds(model, subgraph, codes) -> bool:
    if not any(codes[op.opcodeIndex] == schema.BuiltinOperator.ADD_N for op in subgraph.operators):
        return False
    add_index = operator_code(model, codes, schema.BuiltinOperator.ADD)
    rewritten = []
    for op in subgraph.operators:
        if codes[op.opcodeIndex] != schema.BuiltinOperator.ADD_N:
            rewritten.append(op)
            continue
        inputs, output = [int(t) for t in op.inputs], int(op.outputs[0])
        total = inputs[0]
        for k, addend in enumerate(inputs[1:], start=2):
            target = output if k == len(inputs) else tensor_like(subgraph, output, f"add_n_partial_{k}")
            rewritten.append(add_op(add_index, total, addend, target))
            total = target
    subgraph.operators = rewritten
    return True


def _fc_without_bias(op) -> bool:
    inputs = [int(t) for t in op.inputs]
    options = op.builtinOptions
    return (
        (len(inputs) == 2 or (len(inputs) == 3 and inputs[2] == -1))
        and options is not None
        and options.fusedActivationFunction == 0
        and not getattr(options, "keepNumDims", False)
    )
