"""Modules written for TensorFlow's on-device training recipe, as their authors publish them, adapted
only where Keras 3 (TF 2.21) broke them: the input to :func:`litetrain.convert`."""

from __future__ import annotations

import warnings

IMG_SIZE = 28


def on_device_training_guide(tf):
    """The model of TensorFlow's "On-device training" guide (tensorflow.org/lite/examples/on_device_training).

    Keras 3 changes, each marked below: a weight's unique name is ``.path`` (``.name`` is "kernel"),
    its value ``.value`` (no ``read_value()``), and ``assign`` needs the restored tensor's shape.
    """

    class Model(tf.Module):
        def __init__(self):
            with warnings.catch_warnings():  # Keras 3 prefers an Input layer to input_shape=, and says so
                warnings.filterwarnings("ignore", "Do not pass an `input_shape`", UserWarning)
                self._build()

        def _build(self):
            self.model = tf.keras.Sequential(
                [
                    tf.keras.layers.Flatten(input_shape=(IMG_SIZE, IMG_SIZE), name="flatten"),
                    tf.keras.layers.Dense(128, activation="relu", name="dense_1"),
                    tf.keras.layers.Dense(10, name="dense_2"),
                ]
            )
            self.model.compile(optimizer="sgd", loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True))

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, IMG_SIZE, IMG_SIZE], tf.float32),
                tf.TensorSpec([None, 10], tf.float32),
            ]
        )
        def train(self, x, y):
            with tf.GradientTape() as tape:
                prediction = self.model(x)
                loss = self.model.loss(y, prediction)
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.model.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
            result = {"loss": loss}
            return result

        @tf.function(input_signature=[tf.TensorSpec([None, IMG_SIZE, IMG_SIZE], tf.float32)])
        def infer(self, x):
            logits = self.model(x)
            probabilities = tf.nn.softmax(logits, axis=-1)
            return {"output": probabilities, "logits": logits}

        @tf.function(input_signature=[tf.TensorSpec(shape=[], dtype=tf.string)])
        def save(self, checkpoint_path):
            tensor_names = [weight.path for weight in self.model.weights]  # Keras 3: .name -> .path
            tensors_to_save = [weight.value for weight in self.model.weights]  # Keras 3: .read_value() -> .value
            tf.raw_ops.Save(filename=checkpoint_path, tensor_names=tensor_names, data=tensors_to_save, name="save")
            return {"checkpoint_path": checkpoint_path}

        @tf.function(input_signature=[tf.TensorSpec(shape=[], dtype=tf.string)])
        def restore(self, checkpoint_path):
            restored_tensors = {}
            for var in self.model.weights:
                restored = tf.raw_ops.Restore(
                    file_pattern=checkpoint_path, tensor_name=var.path, dt=var.dtype, name="restore"
                )
                restored = tf.ensure_shape(restored, var.shape)  # Keras 3: assign needs the shape
                var.assign(restored)
                restored_tensors[var.path] = restored
            return restored_tensors

    return Model()


def flower_base_tflite_model(tf, x_shape=(14,), classes=4):
    """Flower's Android ``BaseTFLiteModel`` (flwr examples, tflite_convertor) with the example's
    subclass: train through ``model.train_step``, weights out of ``parameters`` as a0, a1, ...,
    and a ``restore`` whose signature comes from what ``parameters`` returns."""

    class BaseTFLiteModel(tf.Module):
        X_SHAPE: list[int]
        Y_SHAPE: list[int]

        def train(self, x, y):
            return self.model.train_step((x, y))

        def infer(self, x):
            return {"logits": self.model(x)}

        def parameters(self):
            return {f"a{index}": weight for index, weight in enumerate(self.model.weights)}

        def restore(self, **parameters):
            for index, weight in enumerate(self.model.weights):
                weight.assign(parameters[f"a{index}"])
            return self.parameters()

    def tflite_model_class(cls):
        cls.x_spec = tf.TensorSpec([None] + cls.X_SHAPE, tf.float32)
        cls.y_spec = tf.TensorSpec([None] + cls.Y_SHAPE, tf.float32)
        cls.train = tf.function(cls.train, input_signature=[cls.x_spec, cls.y_spec])
        cls.infer = tf.function(cls.infer, input_signature=[cls.x_spec])
        cls.parameters = tf.function(cls.parameters, input_signature=[])
        cls.restore = tf.function(cls.restore)
        return cls

    @tflite_model_class
    class EngineFaultModel(BaseTFLiteModel):
        X_SHAPE = list(x_shape)
        Y_SHAPE = [classes]

        def __init__(self):
            self.model = tf.keras.Sequential(
                [
                    tf.keras.layers.InputLayer(shape=self.X_SHAPE),  # Keras 3: input_shape= -> shape=
                    tf.keras.layers.Dense(9, activation="relu"),
                    tf.keras.layers.Dense(self.Y_SHAPE[0], activation="softmax"),
                ]
            )
            self.model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

    return EngineFaultModel()
