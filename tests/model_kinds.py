"""One small model of each kind the suite makes, as file bytes: the seeds of the
model fuzzer (tools/make_fuzz_seeds.py) and the sources of the damaged variants
in tests/test_corrupt_models.py.

Kinds: training MLPs (fixed and dynamic batch), a CNN (CONV_2D, pooling), a
depthwise CNN, a batch-norm MLP, a baked training model, an inference-only
bake and an int8 export. Needs TensorFlow (litetrain.build, the converter).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

KINDS = ("mlp_fixed", "mlp_dynamic", "cnn", "depthwise", "batch_norm", "baked", "inference_only", "int8_export")


def model_kinds() -> dict[str, bytes]:
    """Builds every kind in KINDS; returns {kind: .tflite bytes}."""
    import keras

    import litetrain
    from litetrain import optim
    from litetrain._reference_models import mlp_initial_weights
    from litetrain.tf.reference_models import mlp_training_model

    L = keras.layers
    keras.utils.set_random_seed(0)

    def built(layers, shape):
        model = keras.Sequential([keras.Input(shape), *layers, L.Flatten(), L.Dense(4)])
        return model, litetrain.build(
            model, "categorical_crossentropy", optim.SGD(0.05), batch_size=2, from_logits=True
        )

    models = {
        "mlp_fixed": mlp_training_model(layer_sizes=(12, 8, 4), batch_size=4),
        "mlp_dynamic": mlp_training_model(layer_sizes=(12, 8, 4), batch_size=None),
    }
    models["cnn"] = built([L.Conv2D(3, 3, activation="relu"), L.AveragePooling2D(2)], (8, 8, 1))[1].tflite
    models["depthwise"] = built([L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")], (6, 6, 3))[1].tflite
    bn_model, bn = built([L.Dense(6), L.BatchNormalization(), L.Activation("relu")], (12,))
    models["batch_norm"] = bn.tflite
    weights = mlp_initial_weights((12, 8, 4), seed=1)
    models["baked"] = litetrain.bake(models["mlp_fixed"], weights, None).data
    models["inference_only"] = litetrain.bake(models["mlp_fixed"], weights, None, inference_only=True).data
    x = np.random.default_rng(0).normal(size=(32, 12)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "int8.tflite"
        litetrain.export(bn, None, path, quantize="int8", representative_data=x)
        models["int8_export"] = path.read_bytes()
    del bn_model
    return models
