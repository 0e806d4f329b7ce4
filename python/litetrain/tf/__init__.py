"""litetrain's TensorFlow side: everything that needs TensorFlow, and nothing else does.

- :mod:`litetrain.tf.builder`: a Keras model or tf.Module -> trainable ``.tflite`` (:func:`litetrain.build`);
- :mod:`litetrain.tf.export`: a Keras model + trained weights -> inference ``.tflite`` (:func:`litetrain.export`);
- :mod:`litetrain.tf.keras_weights`: trained weights back into Keras (:func:`litetrain.load_weights`);
- :mod:`litetrain.tf.convert`: a tf.Module of TensorFlow's on-device recipe -> training ``.tflite``
  (:func:`litetrain.convert`), with the builtin forms of :mod:`litetrain.tf.builtin_forms`;
- :mod:`litetrain.tf.split`: frozen part and head as files of their own (:func:`litetrain.build_split`);
- :mod:`litetrain.tf.reference_models`: the hand-written tf.Module models of the tests and benches.

Importing this package imports TensorFlow, once and quietly; its modules then
``import tensorflow as tf`` at their top. ``import litetrain`` does not load it:
the names above reach it through ``litetrain.__getattr__``, so training, baking,
inspecting and federated nodes run where TensorFlow is not installed.
"""

from __future__ import annotations

import os

from litetrain import _native_logs

# TF_CPP_MIN_LOG_LEVEL does not stop the absl lines TensorFlow's import writes
# on some CPUs (oneDNN, InitializeLog), so they are filtered out as well.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    with _native_logs.filtered():
        import tensorflow
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(f"this needs TensorFlow ({e}): pip install 'litetrain[build]'") from e

__all__ = ["tensorflow"]
