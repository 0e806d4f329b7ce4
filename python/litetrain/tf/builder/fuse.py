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
- FULLY_CONNECTED with variable weights larger than its batch, swapped:
  out = FC(W, x)^T, so that XNNPACK packs the batch, not the weights, every
  run (see _packs_less_swapped).
- BATCH_MATMUL of matrices as FULLY_CONNECTED (with TRANSPOSEs of the
  operands it needs in another layout) where XNNPACK runs that faster: long
  reductions such as a convolution's filter gradient (see
  _faster_as_fully_connected).
"""

from __future__ import annotations

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

# The FULLY_CONNECTED version that has keep_num_dims.
KEEP_NUM_DIMS_VERSION = 5


def rewrite_for_xnnpack(model_bytes: bytes) -> bytes:
    """Returns the model with the rewrites applied (unchanged if none applies)."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    codes = [_builtin_code(c) for c in model.operatorCodes]
    changed = False
    for subgraph in model.subgraphs:
        changed |= _fold_biases(subgraph, codes)
        changed |= _keep_matrix_dims(model, subgraph, codes)
        changed |= _add_n_as_adds(model, subgraph, codes)
        changed |= _products_as_fully_connected(model, subgraph, codes)
        if any(codes[op.opcodeIndex] == schema.BuiltinOperator.ASSIGN_VARIABLE for op in subgraph.operators):
            # Steps only: an inference signature keeps the usual form, which a baked
            # model (constant weights, packed once) needs.
            changed |= _fully_connected_packing_the_batch(model, subgraph, codes)
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
            shapes = _static_shape(subgraph.tensors[source]), _static_shape(subgraph.tensors[out])
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
    add_index = _operator_code(model, codes, schema.BuiltinOperator.ADD)
    rewritten = []
    for op in subgraph.operators:
        if codes[op.opcodeIndex] != schema.BuiltinOperator.ADD_N:
            rewritten.append(op)
            continue
        inputs, output = [int(t) for t in op.inputs], int(op.outputs[0])
        total = inputs[0]
        for k, addend in enumerate(inputs[1:], start=2):
            target = output if k == len(inputs) else _tensor_like(subgraph, output, f"add_n_partial_{k}")
            add = schema.OperatorT()
            add.opcodeIndex = add_index
            add.inputs, add.outputs = [total, addend], [target]
            add.builtinOptionsType = schema.BuiltinOptions.AddOptions
            add.builtinOptions = schema.AddOptionsT()
            rewritten.append(add)
            total = target
    subgraph.operators = rewritten
    return True


def _tensor_like(subgraph, index: int, suffix: str) -> int:
    """A new tensor of the shape and type of tensor `index` (a partial sum)."""
    like, tensor = subgraph.tensors[index], schema.TensorT()
    tensor.shape, tensor.shapeSignature, tensor.type, tensor.buffer = like.shape, like.shapeSignature, like.type, 0
    tensor.name = (like.name or b"") + b"/" + suffix.encode()
    subgraph.tensors.append(tensor)
    return len(subgraph.tensors) - 1


def _operator_code(model, codes, builtin: int) -> int:
    """The index of `builtin`'s operator code, added to the model if missing."""
    if builtin in codes:
        return codes.index(builtin)
    code = schema.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    model.operatorCodes.append(code)
    codes.append(builtin)
    return len(codes) - 1


def _static_shape(tensor) -> list[int] | None:
    """The tensor's shape if every dimension is known when converting, else None."""
    signature = tensor.shapeSignature if tensor.shapeSignature is not None else tensor.shape
    if tensor.shape is None or any(int(d) < 0 for d in signature):
        return None
    return [int(d) for d in tensor.shape]


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


def _products_as_fully_connected(model, subgraph, codes) -> bool:
    """BATCH_MATMUL of two matrices as FULLY_CONNECTED (+ TRANSPOSEs) where that is faster."""
    transposed: dict[int, int] = {}  # tensor -> its transpose, made once
    rewritten, changed = [], False

    def transpose(source: int, target: int | None = None) -> int:
        if target is None and source in transposed:
            return transposed[source]
        result = _transposed_tensor(subgraph, source) if target is None else target
        rewritten.append(_transpose_op(model, subgraph, codes, source, result))
        if target is None:
            transposed[source] = result
        return result

    for op in subgraph.operators:
        product = _matrix_product(subgraph, codes, op)
        if product is None:
            rewritten.append(op)
            continue
        a, b, adj_x, adj_y, (m, n, k) = product
        # XNNPACK packs the weights' rows each run: the smaller side is the weights.
        # (FULLY_CONNECTED keeps the leading dimensions of an input of rank > 2.)
        swap = n > m and len(subgraph.tensors[a].shape) == 2
        moved = (0 if adj_y else n * k) + (m * k if adj_x else 0) + (m * n if swap else 0)
        if not _faster_as_fully_connected(m, n, k, moved):
            rewritten.append(op)
            continue
        fc_index = _operator_code(model, codes, schema.BuiltinOperator.FULLY_CONNECTED)
        code = model.operatorCodes[fc_index]
        code.version = max(code.version, KEEP_NUM_DIMS_VERSION)
        out = int(op.outputs[0])
        if not swap:  # out = A' . B' as FC(A', B'^T)
            x = transpose(a) if adj_x else a
            w = b if adj_y else transpose(b)
            rewritten.append(_fully_connected(fc_index, x, w, out))
        else:  # out^T = B'^T . A'^T as FC(B'^T, A'), then transposed
            x = b if adj_y else transpose(b)
            w = transpose(a) if adj_x else a
            out_t = _tensor_of_shape(subgraph, out, [n, m], "transposed")
            rewritten.append(_fully_connected(fc_index, x, w, out_t))
            transpose(out_t, target=out)
        changed = True
    subgraph.operators = rewritten
    return changed


def _matrix_product(subgraph, codes, op):
    """(a, b, adj_x, adj_y, (m, n, k)) of a BATCH_MATMUL of float operands of
    known shapes that is one matrix product ([m, k] x [k, n] after the
    adjoints; `a` may be [..., k], the rows of m), else None."""
    if codes[op.opcodeIndex] != schema.BuiltinOperator.BATCH_MATMUL:
        return None
    a, b = (int(t) for t in op.inputs)
    shapes = [_static_shape(subgraph.tensors[t]) for t in (a, b)]
    if any(s is None for s in shapes) or any(subgraph.tensors[t].type != schema.TensorType.FLOAT32 for t in (a, b)):
        return None
    adj_x, adj_y = bool(op.builtinOptions.adjX), bool(op.builtinOptions.adjY)
    if len(shapes[1]) != 2 or len(shapes[0]) < 2 or (len(shapes[0]) > 2 and adj_x):
        return None
    m, k = shapes[0][::-1] if adj_x else (int(np.prod(shapes[0][:-1])), shapes[0][-1])
    n = shapes[1][0] if adj_y else shapes[1][1]
    return a, b, adj_x, adj_y, (m, n, k)


def _fully_connected(code_index: int, x: int, w: int, out: int):
    op = schema.OperatorT()
    op.opcodeIndex = code_index
    op.inputs, op.outputs = [x, w, -1], [out]
    op.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    op.builtinOptions = schema.FullyConnectedOptionsT()
    op.builtinOptions.keepNumDims = True
    return op


def _transpose_op(model, subgraph, codes, source: int, target: int):
    op = schema.OperatorT()
    op.opcodeIndex = _operator_code(model, codes, schema.BuiltinOperator.TRANSPOSE)
    op.inputs, op.outputs = [source, _swap_permutation(model, subgraph)], [target]
    op.builtinOptionsType = schema.BuiltinOptions.TransposeOptions
    op.builtinOptions = schema.TransposeOptionsT()
    return op


def _transposed_tensor(subgraph, index: int) -> int:
    rows, cols = _static_shape(subgraph.tensors[index])
    return _tensor_of_shape(subgraph, index, [cols, rows], "transposed")


def _tensor_of_shape(subgraph, like_index: int, shape: list[int], suffix: str) -> int:
    index = _tensor_like(subgraph, like_index, suffix)
    subgraph.tensors[index].shape = subgraph.tensors[index].shapeSignature = list(shape)
    return index


def _swap_permutation(model, subgraph) -> int:
    """The constant [1, 0] (one per subgraph)."""
    for i, tensor in enumerate(subgraph.tensors):
        if tensor.name == b"litetrain/swap_axes":
            return i
    buffer = schema.BufferT()
    buffer.data = list(np.array([1, 0], np.int32).tobytes())
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.buffer = [2], schema.TensorType.INT32, len(model.buffers) - 1
    tensor.name = b"litetrain/swap_axes"
    subgraph.tensors.append(tensor)
    return len(subgraph.tensors) - 1


# Measured with ai-edge-litert 2.3, one thread (the bench CNN's products, alone
# and in its step). XNNPACK's BATCH_MATMUL runs a long reduction over few
# outputs at half its FULLY_CONNECTED rate: a convolution's filter gradient,
# [16, 3872] x [3872, 72], 186 us against 90 us as FC (+ 43 us of transposes);
# [8, 21632] x [21632, 9], 229 us against 138 (+ 51). A large product whose
# transposes are tiny wins too: dpatches = dy [3872, 16] x kernel [16, 72],
# 122 against 89 us. Elsewhere the transposes cost more than FC saves (the
# MLPs' gradients, 1-4 % slower), or the product is too small to matter.
LONG_REDUCTION = 4  # k >= LONG_REDUCTION * max(m, n)
FEW_MOVED_ELEMENTS = 4096
LARGE_PRODUCT_FLOPS = 1_000_000


def _faster_as_fully_connected(m: int, n: int, k: int, moved: int) -> bool:
    """Whether [m, k] x [k, n] runs faster in XNNPACK as FULLY_CONNECTED, which
    needs `moved` elements transposed, than as BATCH_MATMUL."""
    if k >= LONG_REDUCTION * max(m, n):
        return True
    return moved <= FEW_MOVED_ELEMENTS and 2 * m * n * k >= LARGE_PRODUCT_FLOPS


def _fully_connected_packing_the_batch(model, subgraph, codes) -> bool:
    """FC(x [m, k], W [n, k]) with variable weights and m < n as the transpose of
    FC(W, x), bias and activation then added by an ADD."""
    rewritten, changed = [], False
    for op in subgraph.operators:
        swap = _batch_side_packing(model, subgraph, codes, op)
        if swap is None:
            rewritten.append(op)
            continue
        x, w, bias, (m, n) = swap
        out = int(op.outputs[0])
        activation = op.builtinOptions.fusedActivationFunction
        out_t = _tensor_of_shape(subgraph, out, [n, m], "transposed")
        rewritten.append(_fully_connected(op.opcodeIndex, w, x, out_t))
        product = out if bias < 0 else _tensor_of_shape(subgraph, out, [m, n], "without_bias")
        rewritten.append(_transpose_op(model, subgraph, codes, out_t, product))
        if bias >= 0:
            add = schema.OperatorT()
            add.opcodeIndex = _operator_code(model, codes, schema.BuiltinOperator.ADD)
            add.inputs, add.outputs = [product, bias], [out]
            add.builtinOptionsType = schema.BuiltinOptions.AddOptions
            add.builtinOptions = schema.AddOptionsT()
            add.builtinOptions.fusedActivationFunction = activation
            rewritten.append(add)
        changed = True
    subgraph.operators = rewritten
    return changed


def _batch_side_packing(model, subgraph, codes, op):
    """(x, w, bias, (m, n)) of a FULLY_CONNECTED that runs faster swapped, else None."""
    if codes[op.opcodeIndex] != schema.BuiltinOperator.FULLY_CONNECTED:
        return None
    inputs = [int(t) for t in op.inputs] + [-1]
    x, w, bias = inputs[:3]
    shapes = [_static_shape(subgraph.tensors[t]) for t in (x, w)]
    if any(s is None or len(s) != 2 for s in shapes) or subgraph.tensors[x].type != schema.TensorType.FLOAT32:
        return None
    if model.buffers[subgraph.tensors[w].buffer].data is not None:
        return None  # constant weights: XNNPACK packs them once
    options = op.builtinOptions
    if bias < 0 and options.fusedActivationFunction != 0:
        return None
    (m, k), n = shapes[0], shapes[1][0]
    if not _packs_less_swapped(m, n, k):
        return None
    return x, w, bias, (m, n)


# XNNPACK packs a FULLY_CONNECTED's variable weights [n, k] every run; swapped,
# it packs the batch's [m, k] instead. Measured with ai-edge-litert 2.3, one
# thread, a whole step: the 784-128-10 MLP 86.7 -> 80.5 us at batch 8, 175.0 ->
# 162.9 at 32; 784-512-512-10 702 -> 607 us at batch 8, 4.31 -> 4.24 ms at 128;
# but 430 -> 453 us at batch 1 (a one-row product as the weights wastes most
# of XNNPACK's 16-wide tiles). Small weights cost less to pack than the two
# operators the swap adds.
SWAP_MIN_BATCH = 8
SWAP_MIN_WEIGHTS = 16384


def _packs_less_swapped(m: int, n: int, k: int) -> bool:
    """Whether FC of [m, k] by weights [n, k] runs faster as the transpose of FC([n, k], [m, k])."""
    return SWAP_MIN_BATCH <= m < n and n * k >= SWAP_MIN_WEIGHTS
