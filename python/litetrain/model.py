"""Loading a model and running its signatures through the native core."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from litetrain import _core
from litetrain._checks import MAX_THREADS, check_int


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a signature.

    Attributes:
        name: The name to bind it by.
        dtype: Its numpy dtype.
        shape: Its shape; -1 marks a dynamic dimension.
    """

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]


@dataclass(frozen=True)
class SignatureInfo:
    """One signature of a model (``train``, ``infer``, ``save``, ...).

    Attributes:
        key: The signature's name.
        inputs: Its inputs by name, in the runtime's order.
        outputs: Its outputs by name, in the runtime's order.
        num_ops: Operators in its subgraph (what the runtime dispatches per run).
    """

    key: str
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]
    num_ops: int


def _tensor_infos(specs: Mapping[str, tuple[np.dtype, tuple[int, ...]]]) -> dict[str, TensorInfo]:
    return {name: TensorInfo(name, np.dtype(dtype), tuple(shape)) for name, (dtype, shape) in specs.items()}


class UninitializedVariablesWarning(UserWarning):
    """A model reads variables its file gives no value (a Keras layer inside a tf.Module)."""


class Model:
    """A ``.tflite`` model, verified and compiled for the CPU by LiteRT.

    Args:
        model: A path to a ``.tflite`` file, or the model's bytes.
        threads: CPU threads LiteRT may use; None keeps the runtime's default.
        library: Path of ``libLiteRt.so``; None uses ``$LITETRAIN_LITERT_LIB``
            or the copy in the installed ``ai_edge_litert`` package.

    Raises:
        FileNotFoundError: The path does not exist.
        litetrain.ModelFormatError: The file is truncated, corrupt or not a model.
        litetrain.LibraryError: ``libLiteRt.so`` is missing or unsupported.
        ValueError: ``threads`` is not a positive integer.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes | bytearray | memoryview,
        *,
        threads: int | None = None,
        library: str | os.PathLike[str] | None = None,
    ) -> None:
        if threads is not None:
            check_int("threads", threads, minimum=1, maximum=MAX_THREADS)
        library_path = os.fspath(library) if library is not None else ""
        if isinstance(model, (bytes, bytearray, memoryview)):
            self._native = _core.Model.from_bytes(model, threads or 0, library_path)
            self._source = "<bytes>"
        elif isinstance(model, (str, os.PathLike)):
            self._source = os.fspath(model)
            self._native = _core.Model.from_file(self._source, threads or 0, library_path)
        elif hasattr(model, "layers") and hasattr(model, "fit"):
            raise TypeError(
                f"model is a Keras model ({type(model).__name__}), not a .tflite training model: "
                "make one with litetrain.build(model, ...) and train that (its .trainer() or litetrain.Trainer(built.tflite))"
            )
        else:
            raise TypeError(f"model must be a path or bytes, got {type(model).__name__}")
        self._signatures = {
            spec.key: SignatureInfo(spec.key, _tensor_infos(spec.inputs), _tensor_infos(spec.outputs), spec.num_ops)
            for spec in self._native.signatures
        }
        self._uninitialized = tuple(self._native.uninitialized_variables)
        if self._uninitialized:
            warnings.warn(
                f"model {self._source!r} reads variables its file gives no value: {', '.join(self._uninitialized)}. "
                "TensorFlow drops the values of Keras 3 layers held by a tf.Module; until a restore gives them "
                "values, save returns garbage and train fails. Build Keras models with litetrain.build, or restore "
                "the weights first (Trainer.restore / load_checkpoint).",
                UninitializedVariablesWarning,
                stacklevel=2,
            )

    @property
    def uninitialized_variables(self) -> tuple[str, ...]:
        """Variables the model reads that its file gives no initial value (see the load-time warning)."""
        return self._uninitialized

    @property
    def signatures(self) -> dict[str, SignatureInfo]:
        """The model's signatures by name."""
        return self._signatures

    @property
    def threads(self) -> int | None:
        """The thread count given at load time (None: the runtime's default)."""
        return self._native.threads or None

    @property
    def library_path(self) -> str:
        """The ``libLiteRt.so`` this model runs on."""
        return self._native.library_path

    def runner(self, name: str) -> SignatureRunner:
        """Returns a callable that runs the signature ``name``.

        Raises:
            ValueError: The model has no such signature (the message lists them).
        """
        if name not in self._signatures:
            known = ", ".join(repr(k) for k in self._signatures) or "none"
            raise ValueError(f"the model has no signature {name!r}; its signatures are: {known}")
        return SignatureRunner(self._native.runner(name), self._signatures[name])

    def __repr__(self) -> str:
        return f"Model({self._source!r}, signatures={list(self._signatures)})"


class SignatureRunner:
    """Runs one signature: keyword numpy arrays in, a dict of numpy arrays out.

    The same contract as ``ai_edge_litert``'s ``Interpreter.get_signature_runner``.
    Inputs are bound by name, never by position. Arrays must have the declared
    dtype (no silent casts); C-contiguous arrays are read in place, others are
    copied once. The GIL is released while the runtime works. Outputs are new
    arrays owned by the caller.
    """

    def __init__(self, native: Any, info: SignatureInfo) -> None:
        self._native = native
        self.info = info

    def __call__(self, **inputs: Any) -> dict[str, np.ndarray]:
        # Names, dtypes and shapes are checked natively, with messages that
        # name the input; this stays a single call per step.
        return self._native.run(inputs)

    def __repr__(self) -> str:
        return f"SignatureRunner({self.info.key!r}, inputs={list(self.info.inputs)})"
