"""Back out of the device: an inference-only .tflite with trained weights, optionally quantized."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from litetrain._export_options import QUANTIZATIONS
from litetrain._files import write_atomically
from litetrain.model import Model
from litetrain.tf.builder import graph
from litetrain.tf.builder import weights as weight_records
from litetrain.tf.keras_weights import check_weights, resolve_weights


@dataclass
class ExportReport:
    """What :func:`export` wrote and how it compares with the float model.

    Attributes:
        path: The written file.
        quantize: The quantization applied (None: float32).
        size_bytes: Size of the written file.
        float_size_bytes: Size of the same model unquantized.
        accuracy: Accuracy of the written model on ``validation_data`` (None without labels).
        float_accuracy: Accuracy of the float model on the same data.
        agreement: Fraction of samples where both models predict the same class.
        max_abs_difference: Largest difference between the two models' outputs.
    """

    path: str
    quantize: str | None
    size_bytes: int
    float_size_bytes: int
    accuracy: float | None = None
    float_accuracy: float | None = None
    agreement: float | None = None
    max_abs_difference: float | None = None

    def __str__(self) -> str:
        kind = self.quantize or "float32"
        text = f"{self.path}: {kind}, {self.size_bytes:,} bytes (float32: {self.float_size_bytes:,})"
        if self.accuracy is not None:
            text += f", accuracy {self.accuracy:.4f} (float32: {self.float_accuracy:.4f})"
        if self.agreement is not None:
            text += f", agrees with float32 on {self.agreement:.2%}"
        return text


def export(
    model,
    weights,
    path: str | os.PathLike[str],
    *,
    quantize: str | None = None,
    representative_data: np.ndarray | None = None,
    validation_data: tuple[np.ndarray, np.ndarray | None] | np.ndarray | None = None,
) -> ExportReport:
    """Writes an inference-only ``.tflite`` (signature ``infer``) with trained weights baked in.

    Converts the Keras model afresh with TensorFlow, so it can quantize; for
    a float32 inference-only file without TensorFlow (on the device), use
    ``bake(..., inference_only=True)``.

    Args:
        model: The :class:`litetrain.BuiltModel` (or its Keras model).
        weights: ``Trainer.snapshot()``, a Trainer, a checkpoint path, or None
            for the Keras model's own weights.
        path: Where to write (atomically).
        quantize: None (float32), "dynamic" (int8 weights, float activations),
            "float16" (float16 weights), or "int8" (full integer; needs
            `representative_data`). Inputs and outputs stay float32.
        representative_data: Inputs that calibrate "int8" (a few hundred samples).
        validation_data: ``(x, y)`` or ``x``: the report compares the written
            model with the float one on it (accuracy needs class labels).

    Returns:
        An :class:`ExportReport`.

    Raises:
        ValueError: an unknown `quantize`, "int8" without representative data,
            weights that do not fit the model.
    """
    _check_quantize(quantize, representative_data)
    keras_model = getattr(model, "keras_model", model)
    if keras_model is None or not hasattr(keras_model, "layers"):
        raise ValueError("export needs the Keras model the file was built from (a tf.Module model has none)")
    records = weight_records.collect(keras_model, trainable_layers=set())
    if weights is not None:
        by_name = {r.name: r for r in records.values()}
        for name, value in check_weights(keras_model, resolve_weights(weights)).items():
            by_name[name].value = value
    float_model = _convert(keras_model, records, None, None)
    exported = float_model if quantize is None else _convert(keras_model, records, quantize, representative_data)
    write_atomically(path, exported)
    report = ExportReport(os.fspath(path), quantize, len(exported), len(float_model))
    if validation_data is not None:
        _compare(report, float_model, exported, validation_data)
    return report


def inference_file(keras_model, *, quantize: str | None = None, representative_data=None) -> bytes:
    """The inference-only ``.tflite`` (signature ``infer``) of a Keras model with its own weights."""
    _check_quantize(quantize, representative_data)
    records = weight_records.collect(keras_model, trainable_layers=set())
    return _convert(keras_model, records, quantize, representative_data)


def _check_quantize(quantize, representative_data) -> None:
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    if quantize == "int8" and representative_data is None:
        raise ValueError("quantize='int8' needs representative_data: a few hundred typical inputs")


def _convert(keras_model, records, quantize, representative_data) -> bytes:
    """Converts the forward pass of litetrain's layer implementations, weights as constants,
    so the exported model computes what the training model's ``infer`` computes."""
    if len(keras_model.inputs) != 1:
        raise ValueError("export supports models with one input")
    spec = tf.TensorSpec([None, *keras_model.inputs[0].shape[1:]], tf.float32, name="x")
    output_name = keras_model.outputs[0]._keras_history.operation.name
    module = tf.Module()
    infer = graph.inference_function(keras_model, records, [spec], output_name)

    def configure(converter):
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            samples = np.asarray(representative_data, np.float32)

            def calibration():
                for i in range(len(samples)):
                    yield {"x": samples[i : i + 1]}

            converter.representative_dataset = calibration
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]

    return graph.convert(module, {"infer": infer}, configure=configure)


def _predict(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    runner = Model(model_bytes).runner("infer")
    (out,) = runner(x=np.ascontiguousarray(x, np.float32)).values()
    return out


def _compare(report: ExportReport, float_model: bytes, exported: bytes, validation_data) -> None:
    x, y = validation_data if isinstance(validation_data, tuple) else (validation_data, None)
    reference, ours = _predict(float_model, x), _predict(exported, x)
    report.max_abs_difference = float(np.abs(reference - ours).max())
    if reference.ndim == 2 and reference.shape[1] > 1:
        report.agreement = float(np.mean(reference.argmax(1) == ours.argmax(1)))
        if y is not None:
            truth = np.asarray(y)
            truth = truth.argmax(1) if truth.ndim == 2 else truth.reshape(-1)
            report.accuracy = float(np.mean(ours.argmax(1) == truth))
            report.float_accuracy = float(np.mean(reference.argmax(1) == truth))
