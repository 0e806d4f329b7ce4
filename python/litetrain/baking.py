"""Baking trained weights into a ``.tflite`` file, without TensorFlow.

The C++ core rewrites the model's flatbuffer (litetrain/bake.h): the
constants its variable initializer assigns become the given weights. The
result is checked before it is written: loaded fresh, its ``save`` must return
the weights bit for bit (and the inference-only form's ``infer`` must answer
as the training form's does).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import numpy as np

from litetrain import _core
from litetrain._sources import model_source, weights_and_checkpoint
from litetrain.checkpoint import CheckpointError
from litetrain.errors import Error, WeightsMismatch
from litetrain.model import Model

if TYPE_CHECKING:
    from litetrain.trainer import Trainer

# The largest difference allowed between the inference-only form's `infer`
# outputs and the training form's, as a fraction of an output's largest value.
INFER_TOLERANCE = _core.INFER_TOLERANCE


@dataclass(frozen=True)
class Baked:
    """What :func:`bake` wrote and what its check found.

    Attributes:
        path: Where the model was written (None: see `data`).
        data: The model's bytes when no path was given.
        inference_only: The inference-only form.
        variables: The variables the fresh model's ``save`` returned, bit for
            bit equal to the weights (empty for the inference-only form's
            output, which has no ``save``; its training form was checked).
        infer_difference: Inference-only form: the largest difference between
            its ``infer`` outputs and the training form's on probe inputs, as a
            fraction of that output's largest value; 0.0 when bit for bit (at
            most INFER_TOLERANCE: runtimes may run constant weights through
            other kernels than variables). None for the training form.
    """

    path: str | None
    data: bytes | None
    inference_only: bool
    variables: tuple[str, ...]
    infer_difference: float | None


ModelLike = Union[Model, "Trainer", str, os.PathLike, bytes, bytearray, memoryview]
WeightsLike = Union["Trainer", Mapping[str, np.ndarray], str, os.PathLike]


def bake(
    model: ModelLike,
    weights: WeightsLike,
    path: str | os.PathLike[str] | None,
    *,
    inference_only: bool = False,
    require_runtime: str | None = None,
    allow_nonfinite: bool = False,
    save: str | None = None,
) -> Baked:
    """Writes `model` with `weights` as its variables' initial values.

    The written file has the same signatures and keeps training from the
    weights; its ``infer`` signature is the deployable model. With
    `inference_only`, only ``infer`` is kept, its variables turned into
    constants: no optimizer state, no variables, a plain inference model any
    TFLite runtime runs.

    Args:
        model: A litetrain training model: a :class:`litetrain.Model`, a path
            to a ``.tflite`` file, its bytes, or a :class:`litetrain.Trainer`
            (its model).
        weights: The variables by name: a :class:`litetrain.Trainer` (its
            current weights), a dict of arrays as :meth:`Trainer.snapshot`
            returns, or the path of a checkpoint (:meth:`Trainer.save_checkpoint`).
        path: Where to write; written atomically (nothing is written if
            baking fails). None returns the bytes instead.
        inference_only: Write the inference-only form (float32, no
            TensorFlow needed; :func:`litetrain.export` converts the Keras
            model afresh instead, for quantized files).
        require_runtime: Refuse a result this runtime cannot load, naming the
            operators (see :func:`litetrain.check_compatibility`), e.g.
            ``"tflite-runtime-2.14"``.
        allow_nonfinite: Bake weights that hold NaN or infinity (e.g. after
            ``fit(on_nonfinite="stop")``) instead of refusing them.
        save: The signature that returns every variable; None finds it by
            its known names ("save", or "parameters" as in Flower's
            BaseTFLiteModel).

    Raises:
        ValueError: The model is not a litetrain training model, the weights
            do not fit it (:class:`litetrain.CheckpointError` for a
            checkpoint) or hold NaN / infinity, or `require_runtime` cannot
            run the result.
        FileNotFoundError: The model, the checkpoint or the output's folder
            does not exist.
        litetrain.ModelFormatError: The model file is damaged.
        litetrain.Error: The result failed its check (a bug) or could not be written.

    Returns:
        A :class:`Baked`: where it went (or its bytes, when `path` is None)
        and what the check of the fresh model found.
    """
    native, source = model_source(model)
    variables, checkpoint = weights_and_checkpoint(weights)
    target = None if path is None else os.fspath(path)
    options = _core.BakeOptions()
    options.inference_only = bool(inference_only)
    options.require_runtime = require_runtime or ""
    options.allow_nonfinite = bool(allow_nonfinite)
    options.save_signature = save or ""
    try:
        data, report = _core.bake(native, variables, target or "", options)
    except FileNotFoundError:
        raise
    except WeightsMismatch as e:
        if checkpoint is not None:
            raise CheckpointError(f"checkpoint {checkpoint!r} does not fit model {source!r}: {e}") from None
        raise WeightsMismatch(f"cannot bake {source!r}: {e}") from None
    except (ValueError, Error) as e:
        raise type(e)(f"cannot bake {source!r}: {e}") from None
    difference = report.infer_difference
    return Baked(
        path=target,
        data=data,
        inference_only=bool(inference_only),
        variables=report.variables,
        infer_difference=None if difference < 0 else float(difference),
    )
