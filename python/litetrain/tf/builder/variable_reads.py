"""A variable read of its own for each use, placed just before the use.

XNNPACK runs READ_VARIABLE as a copy out of the variable's buffer, and drops
the copy (the consumer reads the variable's buffer itself) only when the read
value has exactly one consumer and nothing between the read and that consumer
touches the variable. A training step uses a weight two or three times (the
forward product, the input gradient, the update), so the converter's single
read made XNNPACK copy every weight every step. Read once per use, every copy
goes, and the update subtracts in place: the bare step of the 784-128-10 MLP
at batch 32 went from 166 to 152 us, that of the 784-512-512-10 MLP at batch
1 from 434 to 344 us (ai-edge-litert 2.3, x86-64, one thread).

A read moves only as far as no assignment to the same variable, and no call
of another subgraph (which may assign it), lies between its old and new place,
so each use still sees the value it saw before.
"""

from __future__ import annotations

from tensorflow.lite.python import schema_py_generated as schema

from litetrain.tf.builder.flatbuffer_edits import tensor_like


def read_variables_at_each_use(subgraph, codes) -> bool:
    """Rewrites `subgraph` in place; returns whether anything changed."""
    read_code = schema.BuiltinOperator.READ_VARIABLE
    operators = subgraph.operators
    if not any(codes[op.opcodeIndex] == read_code for op in operators):
        return False
    variable_of = _variable_names(subgraph, codes)
    graph_outputs = {int(t) for t in subgraph.outputs}
    assigns = [_assigns(op, codes, variable_of) for op in operators]
    consumers: dict[int, list[int]] = {}  # tensor -> indices of the operators that take it
    for index, op in enumerate(operators):
        for t in {int(t) for t in op.inputs}:
            consumers.setdefault(t, []).append(index)

    reads_before: dict[int, list] = {}  # operator index -> new reads to run just before it
    moved: set[int] = set()  # indices of the reads replaced by reads at their uses
    for index, op in enumerate(operators):
        if codes[op.opcodeIndex] != read_code:
            continue
        value, variable = int(op.outputs[0]), variable_of.get(int(op.inputs[0]))
        uses = consumers.get(value, [])
        if variable is None or value in graph_outputs or len(uses) < 2:
            continue
        if any(assigns[k] in (variable, _ANY_VARIABLE) for k in range(index + 1, uses[-1])):
            continue  # a use after an assignment must not see the new value
        for n, use in enumerate(uses):
            target = value  # the first use keeps the original tensor
            if n:
                target = tensor_like(subgraph, value, f"read_{n}")
                operators[use].inputs = [target if int(t) == value else int(t) for t in operators[use].inputs]
            reads_before.setdefault(use, []).append(_read(op, target))
        moved.add(index)
    if not moved:
        return False
    rewritten = []
    for index, op in enumerate(operators):
        rewritten.extend(reads_before.get(index, ()))
        if index not in moved:
            rewritten.append(op)
    subgraph.operators = rewritten
    return True


# Operators that run other subgraphs, which may assign any variable.
_CALLS = (
    schema.BuiltinOperator.CALL_ONCE,
    schema.BuiltinOperator.WHILE,
    schema.BuiltinOperator.IF,
    schema.BuiltinOperator.STABLEHLO_COMPOSITE,
)
_ANY_VARIABLE = ("*",)


def _assigns(op, codes, variable_of) -> tuple | None:
    """The variable `op` may assign: its name, _ANY_VARIABLE, or None."""
    code = codes[op.opcodeIndex]
    if code in _CALLS:
        return _ANY_VARIABLE
    if code == schema.BuiltinOperator.ASSIGN_VARIABLE:
        return variable_of.get(int(op.inputs[0]), _ANY_VARIABLE)
    return None


def _variable_names(subgraph, codes) -> dict[int, tuple]:
    """Resource tensor -> the variable it names (VAR_HANDLE's container and shared name)."""
    names = {}
    for op in subgraph.operators:
        if codes[op.opcodeIndex] == schema.BuiltinOperator.VAR_HANDLE:
            options = op.builtinOptions
            names[int(op.outputs[0])] = (options.container, options.sharedName)
    return names


def _read(read_op, output: int):
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = read_op.opcodeIndex, list(read_op.inputs), [output]
    op.builtinOptionsType, op.builtinOptions = read_op.builtinOptionsType, read_op.builtinOptions
    return op
