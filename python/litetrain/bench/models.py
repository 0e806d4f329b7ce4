"""The models the suite trains, each as a litetrain ``.tflite`` and as the
same Keras model with the same initial weights (for the TensorFlow systems).

Adding a model is one entry in :data:`MODELS`: a name, the per-sample input
shape, the class count, the batch sizes worth timing, and two builders.
TensorFlow is imported only inside the builders.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

# Every model trains with plain SGD at this rate, in every system.
LEARNING_RATE = 0.01


@dataclass(frozen=True)
class ModelSpec:
    """One benchmark model.

    Attributes:
        name: Short key used in files and JSON ("mlp-mid").
        label: What tables show ("MLP 784-128-10").
        input_shape: Shape of one sample of ``x``.
        classes: Width of the one-hot ``y``.
        batches: Batch sizes of a full run.
        build: ``build(batch) -> bytes``: the training ``.tflite`` with a fixed
            batch and train/eval/infer/save/restore signatures.
        keras: ``keras() -> keras.Model``: the same network with the same
            initial weights, uncompiled.
        source: Text that changes whenever the model would (cache key).
    """

    name: str
    label: str
    input_shape: tuple[int, ...]
    classes: int
    batches: tuple[int, ...]
    build: Callable[[int], bytes]
    keras: Callable[[], object]
    source: str


def _mlp(name: str, sizes: tuple[int, ...], batches: tuple[int, ...]) -> ModelSpec:
    def build(batch: int) -> bytes:
        from litetrain._reference_models import mlp_training_model

        return mlp_training_model(sizes, batch_size=batch, learning_rate=LEARNING_RATE, seed=0)

    def keras():
        from litetrain._reference_models import _import_tensorflow, mlp_initial_weights

        tf = _import_tensorflow()
        layers = [tf.keras.Input((sizes[0],))]
        for width in sizes[1:-1]:
            layers.append(tf.keras.layers.Dense(width, activation="relu"))
        layers.append(tf.keras.layers.Dense(sizes[-1]))
        model = tf.keras.Sequential(layers)
        weights = mlp_initial_weights(sizes, seed=0)
        model.set_weights([weights[f"{kind}{i}"] for i in range(len(sizes) - 1) for kind in ("w", "b")])
        return model

    label = "MLP " + "-".join(str(s) for s in sizes)
    return ModelSpec(name, label, (sizes[0],), sizes[-1], batches, build, keras, f"mlp{sizes} lr={LEARNING_RATE}")


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _mlp("mlp-tiny", (32, 16, 4), (1, 8, 32, 128)),
        _mlp("mlp-mid", (784, 128, 10), (1, 8, 32, 128)),
        _mlp("mlp-large", (784, 512, 512, 10), (1, 8, 32, 128)),
    )
}


def model_file(spec: ModelSpec, batch: int, folder: Path) -> Path:
    """The model's ``.tflite`` for `batch` in `folder`, built (with TensorFlow)
    unless an earlier run left it there. The name carries a hash of the
    model's definition and the litetrain version, so a stale file is never used."""
    import litetrain

    key = hashlib.sha256(f"{spec.source} batch={batch} litetrain={litetrain.__version__}".encode()).hexdigest()[:10]
    path = folder / f"{spec.name}-b{batch}-{key}.tflite"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(spec.build(batch))
        os.replace(tmp, path)
    return path


def training_data(spec: ModelSpec, batch: int, max_batches: int = 64, max_bytes: int = 8 << 20, seed: int = 0):
    """Distinct batches of synthetic data a model can learn.

    ``x`` is standard normal; a sample's class is the largest of its first
    `classes` values, a rule every model here can learn, so the loss falls.

    Returns:
        ``(x, y)``: float32 arrays of ``n * batch`` samples, ``n`` as many
        batches as fit in `max_bytes` (at least 4, at most `max_batches`).
    """
    sample_bytes = 4 * (int(np.prod(spec.input_shape)) + spec.classes)
    batches = int(np.clip(max_bytes // (sample_bytes * batch), 4, max_batches))
    n = batches * batch
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *spec.input_shape), dtype=np.float32)
    label = np.argmax(x.reshape(n, -1)[:, : spec.classes], axis=1)
    y = np.eye(spec.classes, dtype=np.float32)[label]
    return x, y
