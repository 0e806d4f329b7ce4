"""The models the suite trains: each is a Keras model, which the TensorFlow
systems train directly and :func:`litetrain.build` turns into the ``.tflite``
every LiteRT system trains, from the same initial weights.

Adding a model is one entry in :data:`MODELS`: a name, the per-sample input
shape, the class count, the batch sizes worth timing, and its layers.
TensorFlow is imported only when a model is built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
        classes: Width of the one-hot ``y``; the model outputs logits.
        batches: Batch sizes of a full run.
        layers: ``layers(keras) -> list`` of Keras layers after the Input.
    """

    name: str
    label: str
    input_shape: tuple[int, ...]
    classes: int
    batches: tuple[int, ...]
    layers: Callable[[object], list]

    def keras(self):
        """The Keras model, uncompiled, with the same initial weights in every
        process (Keras' initializers seeded with 0)."""
        from litetrain.tf import tensorflow

        keras = tensorflow.keras
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input(self.input_shape), *self.layers(keras)], name=self.name.replace("-", "_"))

    def build(self, batch: int | None, portable: bool = False) -> bytes:
        """The training ``.tflite`` made by :func:`litetrain.build` from
        :meth:`keras` (what a user of litetrain gets), with a fixed batch
        (None: a dynamic one); `portable` as :func:`litetrain.build` takes it."""
        import litetrain
        from litetrain import optim

        built = litetrain.build(
            self.keras(),
            "categorical_crossentropy",
            optim.SGD(LEARNING_RATE),
            batch_size=batch,
            from_logits=True,
            portable=portable,
        )
        return built.tflite

    @property
    def source(self) -> str:
        """Text that changes whenever the model would (part of the cache key)."""
        import inspect

        return f"{self.label} {self.input_shape} {self.classes} lr={LEARNING_RATE} {inspect.getsource(self.layers)}"


def _mlp(name: str, sizes: tuple[int, ...]) -> ModelSpec:
    def layers(keras):
        hidden = [keras.layers.Dense(width, activation="relu") for width in sizes[1:-1]]
        return [*hidden, keras.layers.Dense(sizes[-1])]

    label = "MLP " + "-".join(str(s) for s in sizes)
    return ModelSpec(name, label, (sizes[0],), sizes[-1], (1, 8, 32, 128), layers)


def _cnn_layers(keras):
    return [
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ]


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _mlp("mlp-tiny", (32, 16, 4)),
        _mlp("mlp-mid", (784, 128, 10)),
        _mlp("mlp-large", (784, 512, 512, 10)),
        ModelSpec("cnn", "CNN 28x28x1 (conv 8, conv 16)", (28, 28, 1), 10, (1, 8, 32, 128), _cnn_layers),
    )
}


def model_file(spec: ModelSpec, batch: int, folder: Path, portable: bool = False) -> Path:
    """The model's ``.tflite`` for `batch` in `folder` (built with
    ``portable=True`` when `portable`), built (with TensorFlow) unless an
    earlier run left it there. The name carries a hash of the model's
    definition and of the builder's code, so a stale file is never used."""
    import litetrain

    digest = hashlib.sha256(f"{spec.source} batch={batch}".encode())
    package = Path(litetrain.__file__).parent  # read, not imported: a cached file needs no TensorFlow
    for source in sorted([*(package / "tf" / "builder").glob("*.py"), package / "optim.py"]):
        digest.update(source.read_bytes())
    key = digest.hexdigest()[:10]
    path = folder / f"{spec.name}-b{batch}{'-portable' if portable else ''}-{key}.tflite"
    if not path.exists():
        from litetrain._files import write_atomically

        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, spec.build(batch, portable))
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
