"""Loading a model and running its signatures through the native core."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

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


def _tensor_infos(specs: Sequence[_core.TensorSpec]) -> dict[str, TensorInfo]:
    return {t.name: TensorInfo(t.name, t.dtype, t.shape) for t in specs}  # the runtime's order


def _model_options(
    threads: int | None,
    xnnpack_flags: int | None,
    kernel_mode: str,
    weight_cache: str | os.PathLike[str] | None,
    profiling: bool,
    library: str | os.PathLike[str] | None,
) -> _core.ModelOptions:
    options = _core.ModelOptions()
    cpu = _core.CpuOptions()
    if threads is not None:
        cpu.threads = check_int("threads", threads, minimum=1, maximum=MAX_THREADS)
    if xnnpack_flags is not None:
        flags = check_int("xnnpack_flags", xnnpack_flags, maximum=2**32 - 1)
        unknown = flags & ~_core.xnnpack_flags.KNOWN
        if unknown:
            raise ValueError(
                f"xnnpack_flags {flags:#x} sets unknown bits {unknown:#x}; "
                f"combine the names of litetrain.xnnpack_flags (default {_core.xnnpack_flags.DEFAULT:#x})"
            )
        cpu.xnnpack_flags = flags
    if not isinstance(kernel_mode, str):
        raise ValueError(f"kernel_mode must be a name, got {type(kernel_mode).__name__}")
    cpu.kernel_mode = _core.kernel_mode_from_name(kernel_mode)
    if weight_cache is not None:
        cpu.weight_cache_path = os.fspath(weight_cache)
    options.cpu = cpu
    options.profiling = bool(profiling)
    options.litert_library = os.fspath(library) if library is not None else ""
    return options


class UninitializedVariablesWarning(UserWarning):
    """A model reads variables its file gives no value (a Keras layer inside a tf.Module)."""


class Model:
    """A ``.tflite`` model, verified and compiled for the CPU by LiteRT.

    Args:
        model: A path to a ``.tflite`` file, or the model's bytes.
        threads: CPU threads LiteRT may use; None keeps the runtime's default (1).
        xnnpack_flags: XNNPACK delegate flags (``litetrain.xnnpack_flags``);
            None: ``xnnpack_flags.DEFAULT``, the runtime's own flags plus
            ``DYNAMIC_FULLY_CONNECTED``, which puts trainable dense layers
            inside XNNPACK. The value replaces the defaults, it does not add
            to them.
        kernel_mode: ``"xnnpack"`` (XNNPACK runs what it supports, LiteRT's
            builtin kernels the rest), ``"builtin"`` or ``"reference"``.
        weight_cache: A file where XNNPACK keeps its packed copy of the
            model's constant weights (frozen layers, inference-only files),
            so the next load maps it instead of packing again.
        profiling: Lets :meth:`profile` time each operator (a small cost
            per operator; leave it off for training).
        library: Path of ``libLiteRt.so``; None uses ``$LITETRAIN_LITERT_LIB``
            or the copy in the installed ``ai_edge_litert`` package.

    Raises:
        FileNotFoundError: The path does not exist.
        litetrain.ModelFormatError: The file is truncated, corrupt or not a model.
        litetrain.LibraryError: ``libLiteRt.so`` is missing or unsupported.
        ValueError: ``threads`` is not a positive integer, ``xnnpack_flags``
            sets unknown bits, ``kernel_mode`` is unknown.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes | bytearray | memoryview,
        *,
        threads: int | None = None,
        xnnpack_flags: int | None = None,
        kernel_mode: str = "xnnpack",
        weight_cache: str | os.PathLike[str] | None = None,
        profiling: bool = False,
        library: str | os.PathLike[str] | None = None,
    ) -> None:
        options = _model_options(threads, xnnpack_flags, kernel_mode, weight_cache, profiling, library)
        if isinstance(model, (bytes, bytearray, memoryview)):
            self._native = _core.Model.from_bytes(model, options)
            self._source = "<bytes>"
        elif isinstance(model, (str, os.PathLike)):
            self._source = os.fspath(model)
            self._native = _core.Model.from_file(self._source, options)
        elif hasattr(model, "layers") and hasattr(model, "fit"):
            raise TypeError(
                f"model is a Keras model ({type(model).__name__}), not a .tflite training model: "
                "make one with litetrain.build(model, ...) and train that "
                "(its .trainer() or litetrain.Trainer(built.tflite))"
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
    def xnnpack_flags(self) -> int:
        """The XNNPACK delegate flags the model was compiled with."""
        return int(self._native.cpu_options.xnnpack_flags)

    @property
    def kernel_mode(self) -> str:
        """``"xnnpack"``, ``"builtin"`` or ``"reference"``."""
        return _core.kernel_mode_name(self._native.cpu_options.kernel_mode)

    def profile(
        self, signature: str = "train", *, runs: int = 20, batch_size: int | None = None
    ) -> _core.SignatureProfile:
        """Where a run of ``signature`` spends its time, operator by operator.

        Runs the signature ``runs`` times (after one unrecorded run) on fixed
        inputs (floats in [0, 1), integers 0; the first dimension set to
        ``batch_size`` when given) and reads LiteRT's profiler: which
        operators XNNPACK runs, which fall back to builtin kernels and how
        long each takes. A ``train`` signature updates the weights meanwhile.
        Needs ``Model(..., profiling=True)``; :func:`litetrain.profile` loads
        one for you.

        Returns:
            A ``SignatureProfile``: ``operators`` (each with ``index``, ``op``,
            ``in_xnnpack``, ``microseconds``), ``xnnpack_operators``, totals,
            and ``describe()`` for a table.
        """
        check_int("runs", runs, minimum=1, maximum=1_000_000)
        batch = 0 if batch_size is None else check_int("batch_size", batch_size, minimum=1, maximum=2**31 - 1)
        if signature not in self._signatures:
            known = ", ".join(repr(k) for k in self._signatures) or "none"
            raise ValueError(f"the model has no signature {signature!r}; its signatures are: {known}")
        return self._native.profile(signature, runs, batch)

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


def profile(
    model: str | os.PathLike[str] | bytes | bytearray | memoryview,
    signature: str = "train",
    *,
    runs: int = 20,
    batch_size: int | None = None,
    threads: int | None = None,
    xnnpack_flags: int | None = None,
    kernel_mode: str = "xnnpack",
    library: str | os.PathLike[str] | None = None,
) -> _core.SignatureProfile:
    """Loads ``model`` with profiling on and profiles ``signature`` (see :meth:`Model.profile`).

    The CPU options are :class:`Model`'s, so the profile shows what those
    options put inside XNNPACK, e.g. ``xnnpack_flags=0`` against the default.
    """
    with warnings.catch_warnings():  # profiling uninitialised variables is still profiling
        warnings.simplefilter("ignore", UninitializedVariablesWarning)
        loaded = Model(
            model,
            threads=threads,
            xnnpack_flags=xnnpack_flags,
            kernel_mode=kernel_mode,
            profiling=True,
            library=library,
        )
    return loaded.profile(signature, runs=runs, batch_size=batch_size)
