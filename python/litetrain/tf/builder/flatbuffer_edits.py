"""Small edits of a .tflite's object tree (tensorflow.lite's schema classes),
shared by the post-conversion rewrites (fuse.py, products.py)."""

from __future__ import annotations

from tensorflow.lite.python import schema_py_generated as schema

# The FULLY_CONNECTED version that has keep_num_dims.
KEEP_NUM_DIMS_VERSION = 5


def tensor_like(subgraph, index: int, suffix: str) -> int:
    """A new tensor of the shape and type of tensor `index`."""
    like, tensor = subgraph.tensors[index], schema.TensorT()
    tensor.shape, tensor.shapeSignature, tensor.type, tensor.buffer = like.shape, like.shapeSignature, like.type, 0
    tensor.name = (like.name or b"") + b"/" + suffix.encode()
    subgraph.tensors.append(tensor)
    return len(subgraph.tensors) - 1


def operator_code(model, codes, builtin: int) -> int:
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


def static_shape(tensor) -> list[int] | None:
    """The tensor's shape if every dimension is known when converting, else None."""
    signature = tensor.shapeSignature if tensor.shapeSignature is not None else tensor.shape
    if tensor.shape is None or any(int(d) < 0 for d in signature):
        return None
    return [int(d) for d in tensor.shape]


def builtin_code(code) -> int:
    # The schema keeps small codes in the deprecated byte field and the real one in builtinCode.
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def tensor_of_shape(subgraph, like_index: int, shape: list[int], suffix: str) -> int:
    """A new tensor of the type of tensor `like_index`, of a known `shape`."""
    index = tensor_like(subgraph, like_index, suffix)
    subgraph.tensors[index].shape = subgraph.tensors[index].shapeSignature = list(shape)
    return index


def is_constant(model, tensor) -> bool:
    """Whether the tensor's value is in the file (inline, or at an offset past the flatbuffer)."""
    buffer = model.buffers[tensor.buffer]
    return bool(buffer.data is not None and len(buffer.data)) or buffer.offset > 1


def new_operator(code_index: int, inputs: list[int], outputs: list[int], options_type: int, options):
    """An operator of the model's operator code `code_index` (-1 in `inputs`: an omitted input)."""
    op = schema.OperatorT()
    op.opcodeIndex = code_index
    op.inputs, op.outputs = list(inputs), list(outputs)
    op.builtinOptionsType, op.builtinOptions = options_type, options
    return op


def add_op(code_index: int, a: int, b: int, out: int, activation: int = 0):
    """ADD(a, b) -> out, with a fused activation."""
    options = schema.AddOptionsT()
    options.fusedActivationFunction = activation
    return new_operator(code_index, [a, b], [out], schema.BuiltinOptions.AddOptions, options)
