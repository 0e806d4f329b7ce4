"""A frozen backbone run once per data set, the head trained on its features: :func:`build_split`.

When every layer below the head is frozen, a training step spends most of its
time on a forward pass whose result never changes. :func:`build_split` cuts
the Keras model where the first layer that trains takes its input:

- ``features``: an inference-only ``.tflite`` from the model's input to that
  tensor (optionally quantized), run once over the data (:meth:`SplitModel.extract`);
- ``head``: a training file of the layers from there on, trained on features;
- ``full``: the whole model's training file (:func:`build` of the same model
  with ``cache_features``, so its own ``Trainer.fit`` caches the features too),
  into which :meth:`SplitModel.bake` puts the trained head: one deployable file.

Where the model may be cut, and why that is exact: :mod:`litetrain.tf.builder.cut`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from litetrain.baking import Baked, bake
from litetrain.errors import BuildError
from litetrain.model import Model
from litetrain.tf.builder import BuiltModel, build
from litetrain.tf.builder.cut import feature_cut
from litetrain.tf.builder.weights import select_trainable
from litetrain.tf.export import inference_file
from litetrain.trainer import Trainer


@dataclass
class SplitModel:
    """A feature extractor, a head that trains on its features, and the whole model to bake into.

    Attributes:
        features: Inference-only ``.tflite``: the model's input -> the head's input (signature ``infer``).
        head: The head's training file (a :class:`litetrain.BuiltModel`); its input is the features.
        full: The whole model's training file; its weights by the same names as the head's.
        cut: The layer whose output the head takes.
    """

    features: bytes
    head: BuiltModel
    full: BuiltModel
    cut: str

    def extract(self, x: np.ndarray, *, batch_size: int = 256, threads: int | None = None) -> np.ndarray:
        """The features of every sample of `x` (one pass of the frozen part, `batch_size` at a time)."""
        x = np.ascontiguousarray(x, np.float32)
        runner = Model(self.features, threads=threads).runner("infer")
        ((name, output),) = runner.info.outputs.items()
        chunks = [runner(x=x[i : i + batch_size])[name] for i in range(0, len(x), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, *output.shape[1:]), np.float32)

    def trainer(self, **options) -> Trainer:
        """A :class:`litetrain.Trainer` over the head (options as Trainer's); fit it on :meth:`extract`'s output."""
        return self.head.trainer(**options)

    def bake(self, weights, path: str | os.PathLike[str] | None, **options) -> Baked:
        """The whole model with the head's trained `weights` (a Trainer, a snapshot or a checkpoint
        path), written to `path`; options as :func:`litetrain.bake` (e.g. ``inference_only=True``)."""
        return bake(self.full.tflite, weights, path, **options)


def build_split(
    model,
    loss,
    optimizer,
    *,
    trainable=None,
    quantize_features: str | None = None,
    representative_data: np.ndarray | None = None,
    **options,
) -> SplitModel:
    """Builds a Keras model whose frozen part runs once per data set (see the module's docstring).

    Args:
        model, loss, optimizer, trainable: As :func:`litetrain.build`.
        quantize_features: None (float32), "dynamic", "float16" or "int8" (needs
            `representative_data`: model inputs): the feature extractor's quantization.
            The head then trains on quantized features, while :meth:`SplitModel.bake`
            joins it to the float frozen part of ``full`` (use ``quantize_frozen="int8"``
            for a quantized whole model).
        options: The other arguments of :func:`litetrain.build` (batch_size, from_logits,
            metrics, batch_statistics, seed, quantize_frozen for the whole model).

    Raises:
        BuildError: no frozen part below the first layer that trains, trainable layers
            inside a nested model or on two sides of the cut, a frozen layer that is
            random in training.
    """
    if not (hasattr(model, "layers") and getattr(model, "inputs", None)):
        raise BuildError("build_split needs a built Keras model (a tf.Module has no layers to cut between)")
    if "cache_features" in options:
        raise TypeError("build_split always builds the whole model with cache_features; do not pass it")
    if len(model.inputs) != 1:
        raise BuildError(f"build_split makes a feature extractor of one input; the model has {len(model.inputs)}")
    names = select_trainable(model, trainable)
    cut = feature_cut(model, names)
    chosen = sorted(names)
    return SplitModel(
        features=inference_file(cut.frozen, quantize=quantize_features, representative_data=representative_data),
        head=build(cut.head, loss, optimizer, trainable=chosen, **options),
        full=build(model, loss, optimizer, trainable=chosen, cache_features=True, **options),
        cut=cut.layer,
    )
