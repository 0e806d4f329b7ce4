"""Matrix products in the form XNNPACK runs fastest, chosen after conversion
by rules measured on ai-edge-litert 2.3 (the constants below).

- BATCH_MATMUL of matrices as FULLY_CONNECTED (with TRANSPOSEs of the
  operands it needs in another layout) where XNNPACK runs that faster: every
  weight gradient (dy^T . x), long reductions such as a convolution's filter
  gradient above all.
- FULLY_CONNECTED with variable weights larger than its batch, swapped:
  out = FC(W, x)^T, so that XNNPACK packs the batch, not the weights, every
  step.
"""

from __future__ import annotations

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema

from litetrain.tf.builder.flatbuffer_edits import (
    KEEP_NUM_DIMS_VERSION,
    add_op,
    is_constant,
    new_operator,
    operator_code,
    static_shape,
    tensor_of_shape,
)


def matrix_products_as_fully_connected(model, subgraph, codes) -> bool:
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
        if adj_x and not adj_y:
            # Both operands [k, .]: a weight gradient. Each form transposes one
            # operand itself and hands XNNPACK the other's transpose to fold;
            # BATCH_MATMUL would transpose `a` itself all the same.
            long = k >= LONG_REDUCTION * max(m, n)
            swap = long and _fold_cost(a, b, subgraph) > _fold_cost(b, a, subgraph)
        else:
            # XNNPACK packs the weights' rows each run: the smaller side is the weights.
            # (FULLY_CONNECTED keeps the leading dimensions of an input of rank > 2.)
            swap = n > m and len(subgraph.tensors[a].shape) == 2
            moved = (0 if adj_y else n * k) + (m * k if adj_x else 0) + (m * n if swap else 0)
            batched = len(subgraph.tensors[a].shape) > 2
            if not _faster_as_fully_connected(m, n, k, moved, batched):
                rewritten.append(op)
                continue
        fc_index = operator_code(model, codes, schema.BuiltinOperator.FULLY_CONNECTED)
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
            out_t = tensor_of_shape(subgraph, out, [n, m], "transposed")
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
    shapes = [static_shape(subgraph.tensors[t]) for t in (a, b)]
    if any(s is None for s in shapes) or any(subgraph.tensors[t].type != schema.TensorType.FLOAT32 for t in (a, b)):
        return None
    adj_x, adj_y = bool(op.builtinOptions.adjX), bool(op.builtinOptions.adjY)
    if len(shapes[1]) != 2 or len(shapes[0]) < 2 or (len(shapes[0]) > 2 and adj_x):
        return None
    m, k = shapes[0][::-1] if adj_x else (int(np.prod(shapes[0][:-1])), shapes[0][-1])
    n = shapes[1][0] if adj_y else shapes[1][1]
    return a, b, adj_x, adj_y, (m, n, k)


def _fully_connected(code_index: int, x: int, w: int, out: int):
    options = schema.FullyConnectedOptionsT()
    options.keepNumDims = True
    return new_operator(code_index, [x, w, -1], [out], schema.BuiltinOptions.FullyConnectedOptions, options)


def _transpose_op(model, subgraph, codes, source: int, target: int):
    code_index = operator_code(model, codes, schema.BuiltinOperator.TRANSPOSE)
    inputs = [source, _swap_permutation(model, subgraph)]
    return new_operator(
        code_index, inputs, [target], schema.BuiltinOptions.TransposeOptions, schema.TransposeOptionsT()
    )


def _transposed_tensor(subgraph, index: int) -> int:
    rows, cols = static_shape(subgraph.tensors[index])
    return tensor_of_shape(subgraph, index, [cols, rows], "transposed")


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
# 122 against 89 us. A dense layer's weight gradient dy^T . x, unswapped
# (XNNPACK folds x's transpose into the weights; BATCH_MATMUL transposes dy
# too), whole bare steps against BATCH_MATMUL: 784-128-10 at batch 8 65.8 ->
# 62.1 us, 32 148.4 -> 143.7, 128 540.7 -> 530.6; 784-512-512-10 at 8 502 ->
# 494, 32 1,110 -> 1,091, 128 3,999 -> 3,984; 32-16-4 at 8 3.78 -> 3.73;
# level at 2048-256-10 batch 256 and 4096-64-10 batch 64. Swapped (x folded
# the other way, the result transposed) it is slower: 784-128-10 at batch 32
# 155.3 us. Elsewhere the transposes cost more than FC saves (an input
# gradient dy . W: level at best), or the product is too small to matter;
# except a product of rows [..., rows, k], which BATCH_MATMUL runs as a batch
# of small products: the bench CNN's dpatches at batch 1, [5, 2, 5, 2, 16] x
# [16, 72], 11.1 us against 1.0 as FC.
LONG_REDUCTION = 4  # k >= LONG_REDUCTION * max(m, n)
FEW_MOVED_ELEMENTS = 4096
LARGE_PRODUCT_FLOPS = 1_000_000


# XNNPACK folds a TRANSPOSE into the FULLY_CONNECTED whose weights it makes
# (packing the untransposed [k, n] directly), but packs such weights in one
# pass over the matrix per 16 columns (its x86 GEMM tile). A TRANSPOSE it runs
# itself is 4x slower per element when the rows are not a multiple of 8 floats.
# Measured with ai-edge-litert 2.3, one thread, the bench CNN at batch 128:
# conv1's dkernel, [86528, 8] and [86528, 9] patches: transposing the 9-wide
# patches 569 us + FC 570 against transposing the 8-wide gradient 99 + FC 622;
# conv2's, [15488, 16] and [15488, 72]: transposing the patches 420 + FC 377
# against the gradient 59 + FC 1007.
GEMM_TILE_COLUMNS = 16
TRANSPOSE_ALIGNMENT = 8
UNALIGNED_TRANSPOSE_COST = 4


def _fold_cost(transposed: int, folded: int, subgraph) -> int:
    """Relative cost of the product of two [k, .] matrices when `transposed` is
    transposed by a TRANSPOSE and `folded`'s transpose is folded into the weights."""
    rows, cols = static_shape(subgraph.tensors[transposed])
    per_element = 1 if cols % TRANSPOSE_ALIGNMENT == 0 else UNALIGNED_TRANSPOSE_COST
    folded_rows, folded_cols = static_shape(subgraph.tensors[folded])
    return rows * cols * per_element + folded_rows * folded_cols * -(-folded_cols // GEMM_TILE_COLUMNS)


def _faster_as_fully_connected(m: int, n: int, k: int, moved: int, batched: bool) -> bool:
    """Whether [m, k] x [k, n] runs faster in XNNPACK as FULLY_CONNECTED, which
    needs `moved` elements transposed, than as BATCH_MATMUL (`batched`: the m
    rows come as [..., rows, k], which BATCH_MATMUL runs as a batch of small
    products)."""
    if k >= LONG_REDUCTION * max(m, n):
        return True
    return moved <= FEW_MOVED_ELEMENTS and (batched or 2 * m * n * k >= LARGE_PRODUCT_FLOPS)


def fully_connected_packing_the_batch(model, subgraph, codes) -> bool:
    """FC(x [m, k], W [n, k]) with variable weights and m < n as the transpose of
    FC(W, x), bias and activation then added by an ADD."""
    rewritten, changed = [], False
    transposes = {
        int(op.outputs[0]) for op in subgraph.operators if codes[op.opcodeIndex] == schema.BuiltinOperator.TRANSPOSE
    }
    for op in subgraph.operators:
        swap = _batch_side_packing(model, subgraph, codes, op, transposes)
        if swap is None:
            rewritten.append(op)
            continue
        x, w, bias, (m, n) = swap
        code = model.operatorCodes[op.opcodeIndex]
        code.version = max(code.version, KEEP_NUM_DIMS_VERSION)
        out = int(op.outputs[0])
        activation = op.builtinOptions.fusedActivationFunction
        out_t = tensor_of_shape(subgraph, out, [n, m], "transposed")
        rewritten.append(_fully_connected(op.opcodeIndex, w, x, out_t))
        product = out if bias < 0 else tensor_of_shape(subgraph, out, [m, n], "without_bias")
        rewritten.append(_transpose_op(model, subgraph, codes, out_t, product))
        if bias >= 0:
            add_index = operator_code(model, codes, schema.BuiltinOperator.ADD)
            rewritten.append(add_op(add_index, product, bias, out, activation))
        changed = True
    subgraph.operators = rewritten
    return changed


def _batch_side_packing(model, subgraph, codes, op, transposes: set[int]):
    """(x, w, bias, (m, n)) of a FULLY_CONNECTED that runs faster swapped, else None."""
    if codes[op.opcodeIndex] != schema.BuiltinOperator.FULLY_CONNECTED:
        return None
    inputs = [int(t) for t in op.inputs] + [-1]
    x, w, bias = inputs[:3]
    shapes = [static_shape(subgraph.tensors[t]) for t in (x, w)]
    if any(s is None or len(s) != 2 for s in shapes) or subgraph.tensors[x].type != schema.TensorType.FLOAT32:
        return None
    if is_constant(model, subgraph.tensors[w]):
        return None  # constant weights: XNNPACK packs them once
    if w in transposes:
        return None  # XNNPACK folds that TRANSPOSE into the weights, not into an input
    activation = op.builtinOptions.fusedActivationFunction
    if activation not in ADD_ACTIVATIONS or (bias < 0 and activation != schema.ActivationFunctionType.NONE):
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
# The fused activations ADD takes (it then carries the FC's).
ADD_ACTIVATIONS = (
    schema.ActivationFunctionType.NONE,
    schema.ActivationFunctionType.RELU,
    schema.ActivationFunctionType.RELU_N1_TO_1,
    schema.ActivationFunctionType.RELU6,
)


def _packs_less_swapped(m: int, n: int, k: int) -> bool:
    """Whether FC of [m, k] by weights [n, k] runs faster as the transpose of FC([n, k], [m, k])."""
    return SWAP_MIN_BATCH <= m < n and n * k >= SWAP_MIN_WEIGHTS
