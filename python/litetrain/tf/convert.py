"""A tf.Module written for TensorFlow's on-device training recipe -> a builtin-only training ``.tflite``:
:func:`convert`.

The recipe (TensorFlow's "On-device training" guide, Flower's Android
``BaseTFLiteModel``) writes train / infer / save / restore as tf.functions of a
tf.Module and converts them with Flex ops, which the LiteRT runtime from PyPI
cannot run. :func:`convert` makes the same signatures of builtin ops only:

- what TensorFlow or Keras would trace into Flex ops (the gradients of ReLU and
  its kin, the sums of broadcast gradients, Keras 3's signbit) is traced in
  builtin ops instead: each function is traced afresh with the forms of
  :mod:`litetrain.tf.builtin_forms` swapped in;
- a save / restore over a checkpoint path (``tf.raw_ops.Save`` / ``Restore``)
  becomes a pair over tensors: ``save()`` returns each variable it saved, by
  its checkpoint name, and ``restore(**tensors)`` assigns them;
- every variable the functions use is saved with its value, so Keras 3 layers
  held by the module keep their weights (TensorFlow drops them otherwise).

What still needs Flex is refused, naming the op. Only the signatures' own
tf.functions are traced afresh: another tf.function they call keeps a trace it
already has (with TensorFlow's gradients, if it was differentiated before). The result is checked before
it is returned: no variable without a value, and every signature without
inputs (``save``, ``parameters``) returns what the module's own function does.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from litetrain.errors import BuildError
from litetrain.model import Model
from litetrain.tf.builder import graph
from litetrain.tf.builtin_forms import builtin_forms
from litetrain.tf.training_file import TrainingFile

_SAVE_OPS = {"Save", "SaveV2", "SaveSlices"}
_RESTORE_OPS = {"Restore", "RestoreV2", "RestoreSlice"}
_PASS_THROUGH = {"Identity", "EnsureShape", "Reshape", "Cast"}

_FIX = (
    "Write that part in ops TFLite has (a tf.custom_gradient made of builtin ops), "
    "or build the model from Keras with litetrain.build."
)


@dataclass
class ConvertedModel(TrainingFile):
    """A trainable ``.tflite`` made by :func:`convert` (``tflite``: the file's bytes).

    Attributes:
        rewrites: What was changed to make it builtin-only, one line each.
    """

    rewrites: list[str] = field(default_factory=list)


def convert(module, signatures=None) -> ConvertedModel:
    """A tf.Module with its own train / infer / save / restore tf.functions as a builtin-only training file.

    Args:
        module: The tf.Module (its variables may be tf.Variables or Keras 3 layers' weights).
        signatures: Signature name -> the module's tf.function (``{"train": m.train, ...}``);
            default: every tf.function of the module, by attribute name. Each needs an ``input_signature``.

    Returns:
        A :class:`ConvertedModel`: ``.tflite``, ``.save(path)``, ``.trainer()``, ``.rewrites``.

    Raises:
        BuildError: an op that is not a TFLite builtin and that convert cannot rewrite
            (named), a function without an input signature, a variable left without a value.
    """
    functions = _functions(module) if signatures is None else dict(signatures)
    if not functions:
        raise BuildError(f"{type(module).__name__} has no tf.function to convert; pass signatures={{name: m.fn}}")
    rewrites: list[str] = []
    concrete = _trace(functions, rewrites)
    concrete, checkpoint = _tensor_checkpoint(concrete, rewrites)

    root = tf.Module()  # saves every variable the functions use, with its value
    root.litetrain_variables = _unique_variables(concrete.values())
    tflite = graph.convert(root, concrete, fix=_FIX)
    _check(tflite, functions, checkpoint)
    return ConvertedModel(tflite=tflite, rewrites=rewrites)


def _functions(module) -> dict:
    found = {}
    for cls in reversed(type(module).__mro__):
        for name, value in vars(cls).items():
            if not name.startswith("_") and hasattr(value, "get_concrete_function"):
                found[name] = getattr(module, name)
    for name, value in vars(module).items():
        if not name.startswith("_") and hasattr(value, "get_concrete_function"):
            found[name] = value
    return found


def _trace(functions: dict, rewrites: list[str]) -> dict:
    """Concrete functions of `functions`, the tf.functions traced afresh with builtin forms (an
    earlier trace may hold Flex ops); concrete functions given are taken as they are."""
    concrete, later = {}, []
    for name, function in functions.items():
        if not hasattr(function, "python_function"):
            concrete[name] = function
        elif function.input_signature is not None:
            fresh = tf.function(function.python_function, input_signature=function.input_signature)
            concrete[name] = _traced_with_builtin_forms(name, fresh, {}, rewrites)
        else:
            later.append(name)
    for name in later:
        python_function = functions[name].python_function
        parameters = inspect.signature(python_function).parameters.values()
        if not parameters:
            kwargs = {}
        elif any(p.kind == p.VAR_KEYWORD for p in parameters):
            kwargs = _like_the_saved_weights(name, concrete)
        else:
            raise _no_input_signature(name)
        concrete[name] = _traced_with_builtin_forms(name, tf.function(python_function), kwargs, rewrites)
    return dict(sorted(concrete.items()))


def _traced_with_builtin_forms(name: str, function, kwargs: dict, rewrites: list[str]):
    used: set[str] = set()
    with builtin_forms(used):
        traced = function.get_concrete_function(**kwargs)
    rewrites.extend(f"{name}: {line}" for line in sorted(used))
    return traced


def _like_the_saved_weights(name: str, concrete: dict) -> dict:
    """The inputs of a tf.function without an input signature (Flower's ``restore(**parameters)``):
    what the signature without inputs that returns the weights returns, by name."""
    saver = next((concrete[n] for n in ("save", "parameters") if n in concrete and _takes_nothing(concrete[n])), None)
    if saver is None or not isinstance(saver.structured_outputs, dict):
        raise _no_input_signature(name)
    return {key: tf.TensorSpec(t.shape, t.dtype, name=key) for key, t in saver.structured_outputs.items()}


def _no_input_signature(name: str) -> BuildError:
    return BuildError(
        f"signature {name!r} has no input_signature: decorate it with @tf.function(input_signature=[...]) "
        f"or pass its concrete function (signatures={{{name!r}: m.{name}.get_concrete_function(...)}})"
    )


def _takes_nothing(traced) -> bool:
    args, kwargs = traced.structured_input_signature
    return not args and not kwargs


def _unique_variables(concrete_functions) -> list:
    seen, variables = set(), []
    for traced in concrete_functions:
        for variable in traced.variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


# --- checkpoints: a path (Flex) -> tensors (builtin) ------------------------------------------------


def _tensor_checkpoint(concrete: dict, rewrites: list[str]):
    """Replaces save / restore signatures over a checkpoint path; returns (signatures, the
    tensor save's name -> its (checkpoint name, variable) pairs)."""
    kinds = {name: _checkpoint_kind(name, traced) for name, traced in concrete.items()}
    savers = [name for name, kind in kinds.items() if kind == "save"]
    restorers = [name for name, kind in kinds.items() if kind == "restore"]
    if not savers and not restorers:
        return concrete, {}
    found = {name: _saved_variables(concrete[name]) for name in savers}
    found.update({name: _restored_variables(concrete[name]) for name in restorers})
    source = (savers + restorers)[0]
    pairs = found[source]
    if not pairs:
        raise BuildError(f"signature {source!r} reads or writes a checkpoint file, but no variable of it was found")
    for name, other in found.items():
        if dict(other) != dict(pairs):
            raise BuildError(
                f"signatures {source!r} and {name!r} save or restore different variables "
                f"({sorted(dict(pairs))} and {sorted(dict(other))}): convert makes one pair of tensor signatures"
            )
    names = _signature_names([name for name, _ in pairs])
    variables = [variable for _, variable in pairs]
    replaced = dict(concrete)
    for name in savers:
        replaced[name] = _tensor_save(names, variables)
    for name in restorers:
        replaced[name] = _tensor_restore(names, variables)
    rewrites.append(
        f"{', '.join(savers + restorers)}: tf.raw_ops.Save / Restore of a checkpoint path (Flex) -> "
        f"{len(names)} tensors ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})"
    )
    return replaced, {name: list(zip(names, variables)) for name in savers}


def _checkpoint_kind(name: str, traced) -> str | None:
    """ "save" / "restore" for a function of a checkpoint path alone that writes / reads it."""
    types = {op.type for op in traced.graph.get_operations()}
    kind = "save" if types & _SAVE_OPS else "restore" if types & _RESTORE_OPS else None
    if kind is None:
        return None
    args, kwargs = traced.structured_input_signature
    specs = [*args, *kwargs.values()]
    if len(specs) != 1 or getattr(specs[0], "dtype", None) != tf.string or getattr(specs[0], "shape", None) != []:
        raise BuildError(
            f"signature {name!r} {'writes' if kind == 'save' else 'reads'} a checkpoint file (tf.raw_ops, Flex) "
            "but does more than that: convert replaces only a save / restore that takes a checkpoint path alone"
        )
    return kind


def _saved_variables(traced) -> list:
    pairs = []
    for op in traced.graph.get_operations():
        if op.type not in _SAVE_OPS:
            continue
        first_data = 2 if op.type == "Save" else 3  # SaveV2 / SaveSlices: prefix, names, slices, tensors...
        names = tf.get_static_value(op.inputs[1])
        if names is None:
            raise BuildError(f"{op.type} in {traced.name}: its tensor names are not constants")
        for checkpoint_name, tensor in zip(np.ravel(names), op.inputs[first_data:]):
            pairs.append((checkpoint_name.decode(), _variable_behind(traced, tensor)))
    return pairs


def _restored_variables(traced) -> list:
    pairs, assigned = [], set()
    for op in traced.graph.get_operations():
        if op.type != "AssignVariableOp":
            continue
        source = _through(op.inputs[1])
        if source.op.type in _RESTORE_OPS:
            names = np.ravel(tf.get_static_value(source.op.inputs[1]))
            pairs.append((names[source.value_index].decode(), _captured_variable(traced, op.inputs[0])))
            assigned.add(source.name)
    restored = [out.name for op in traced.graph.get_operations() if op.type in _RESTORE_OPS for out in op.outputs]
    if set(restored) - assigned:
        raise BuildError(
            f"{traced.name}: a value it restores ({sorted(set(restored) - assigned)[0]}) does not reach a variable "
            "through Identity / EnsureShape / Reshape / Cast alone, so convert cannot tell which variable it sets"
        )
    return pairs


def _through(tensor):
    while tensor.op.type in _PASS_THROUGH and tensor.op.inputs:
        tensor = tensor.op.inputs[0]
    return tensor


def _variable_behind(traced, tensor):
    source = _through(tensor)
    if source.op.type != "ReadVariableOp":
        raise BuildError(f"{traced.name}: a tensor it saves ({tensor.name}) is not a variable's value")
    return _captured_variable(traced, source.op.inputs[0])


def _captured_variable(traced, handle):
    """The tf.Variable whose resource `handle` (a placeholder of the function's graph) is."""
    external = next((outer for outer, inner in traced.graph.captures if inner is handle), None)
    for variable in traced.variables:
        if external is not None and variable.handle is external:
            return variable
    raise BuildError(f"{traced.name}: {handle.name} is not a variable the function captures")


def _signature_names(checkpoint_names: list[str]) -> list[str]:
    names = []
    for checkpoint_name in checkpoint_names:
        name = re.sub(r"\W", "_", checkpoint_name).strip("_") or "weight"
        while name in names:
            name += "_"
        names.append(name)
    return names


def _tensor_save(names: list[str], variables: list):
    @tf.function(input_signature=[])
    def save():
        # Scalars as [1]: LiteRT cannot bind a scalar read from a variable as an output.
        return {name: tf.reshape(v, [1]) if v.shape.rank == 0 else tf.identity(v) for name, v in zip(names, variables)}

    return save.get_concrete_function()


def _tensor_restore(names: list[str], variables: list):
    specs = [tf.TensorSpec([1] if v.shape.rank == 0 else v.shape, v.dtype, name=n) for n, v in zip(names, variables)]

    @tf.function(input_signature=specs)
    def restore(*values):
        for variable, value in zip(variables, values):
            variable.assign(tf.reshape(value, []) if variable.shape.rank == 0 else value)
        # An output keeps the assignments (the converter prunes a function without one).
        return {"ok": tf.constant(True)}

    return restore.get_concrete_function()


# --- the result, checked --------------------------------------------------------------------------


def _check(tflite: bytes, functions: dict, checkpoint: dict) -> None:
    model = Model(tflite)
    if model.uninitialized_variables:
        raise BuildError(
            f"the converted file has variables without a value: {', '.join(model.uninitialized_variables)}"
        )
    # The signatures that return the weights: the tensor saves made here, and a module's own
    # save / parameters (called once, as the module would be: they only read its variables).
    for name, info in model.signatures.items():
        if info.inputs or not (name in checkpoint or name in ("save", "parameters")):
            continue
        if name in checkpoint:
            expected = {n: np.reshape(v.numpy(), [1]) if v.shape.rank == 0 else v.numpy() for n, v in checkpoint[name]}
        else:
            returned = functions[name]()
            if not isinstance(returned, dict):
                continue
            expected = {k: np.asarray(v) for k, v in returned.items()}
        got = model.runner(name)()
        if set(got) != set(expected):
            raise BuildError(f"signature {name!r} of the converted file returns {sorted(got)}, not {sorted(expected)}")
        for key, value in expected.items():
            if got[key].size != value.size or not np.array_equal(np.reshape(got[key], np.shape(value)), value):
                raise BuildError(
                    f"signature {name!r} of the converted file returns another {key!r} than the module's function"
                )
