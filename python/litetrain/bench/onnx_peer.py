"""ONNX Runtime training (``onnxruntime-training``), the other on-device training
runtime users pick, as a peer of the suite: the same model, initial weights,
batches, loss and SGD step as every other system.

The bench models are Keras Sequentials of Dense, Conv2D (valid padding),
MaxPooling2D and Flatten with relu or linear activations; :func:`onnx_model`
writes each as an ONNX graph with the Keras model's own initial weights (NHWC
input transposed to ONNX's NCHW and back before Flatten, so that Dense
weights keep Keras' order). ORT's artifacts add softmax cross-entropy (the
labels as class indices, made once, outside the timed loop) and SGD.

``onnxruntime.training``'s package initialiser imports PyTorch for features
the suite does not use; :func:`_training_modules` loads the two submodules
it needs without it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

NOT_INSTALLED = "onnxruntime-training and onnx are not installed (pip install onnxruntime-training==1.19.2 onnx)"


def available() -> bool:
    return (
        importlib.util.find_spec("onnx") is not None
        and importlib.util.find_spec("onnxruntime") is not None
        and (importlib.util.find_spec("onnxruntime.capi") is not None and _training_folder().is_dir())
    )


def _training_folder() -> Path:
    spec = importlib.util.find_spec("onnxruntime")
    return Path(spec.origin).parent / "training" if spec and spec.origin else Path("/nonexistent")


def _training_modules():
    """(artifacts, api) of onnxruntime.training, without its PyTorch-importing __init__."""
    if "onnxruntime.training" not in sys.modules:
        package = types.ModuleType("onnxruntime.training")
        package.__path__ = [str(_training_folder())]
        sys.modules["onnxruntime.training"] = package
    from onnxruntime.training import api, artifacts

    return artifacts, api


def onnx_model(keras_model, batch: int):
    """The Keras Sequential as an ONNX forward graph ``x -> logits`` (parameters as initializers)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    name = "x"
    shape = [batch, *keras_model.input_shape[1:]]
    nchw = False

    def emit(op, inputs, **attributes):
        nonlocal name
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], **attributes))
        name = out
        return out

    def parameter(label, value):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), label))
        return label

    for index, layer in enumerate(keras_model.layers):
        kind = type(layer).__name__
        label = f"l{index}"
        if kind == "Conv2D":
            if layer.padding != "valid" or tuple(layer.dilation_rate) != (1, 1):
                raise ValueError(f"{layer.name}: the ONNX peer writes valid, undilated convolutions only")
            if not nchw:
                emit("Transpose", [name], perm=[0, 3, 1, 2])
                nchw = True
            kernel, bias = (v.numpy() for v in layer.weights)
            emit(
                "Conv",
                [name, parameter(f"{label}_w", kernel.transpose(3, 2, 0, 1)), parameter(f"{label}_b", bias)],
                kernel_shape=list(layer.kernel_size),
                strides=list(layer.strides),
            )
        elif kind == "MaxPooling2D":
            emit("MaxPool", [name], kernel_shape=list(layer.pool_size), strides=list(layer.strides))
        elif kind == "Flatten":
            if nchw:
                emit("Transpose", [name], perm=[0, 2, 3, 1])
                nchw = False
            emit("Flatten", [name], axis=1)
        elif kind == "Dense":
            kernel, bias = (v.numpy() for v in layer.weights)
            emit("Gemm", [name, parameter(f"{label}_w", kernel), parameter(f"{label}_b", bias)])
        else:
            raise ValueError(f"{layer.name}: the ONNX peer has no {kind}")
        activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
        if activation == "relu":
            emit("Relu", [name])
        elif activation != "linear":
            raise ValueError(f"{layer.name}: the ONNX peer has no activation {activation!r}")
    nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, keras_model.output_shape[-1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9  # what onnxruntime 1.19 reads
    onnx.checker.check_model(model)
    return model, [tensor.name for tensor in initializers]


def _lower_ir_versions(folder: Path) -> None:
    """onnx newer than onnxruntime 1.19 stamps its own IR version on the
    optimizer graph it writes; the runtime reads up to IR 10."""
    import onnx

    for path in folder.glob("*.onnx"):
        model = onnx.load(path)
        if model.ir_version > 10:
            model.ir_version = 10
            onnx.save(model, path)


class Trainer:
    """One SGD step per call of :meth:`step`, through ORT's training API."""

    def __init__(self, keras_model, batch: int, learning_rate: float, threads: int) -> None:
        import onnxruntime

        artifacts, api = _training_modules()
        model, parameters = onnx_model(keras_model, batch)
        self._folder = tempfile.TemporaryDirectory(prefix="litetrain-ort-")
        folder = Path(self._folder.name)
        artifacts.generate_artifacts(
            model,
            requires_grad=parameters,
            loss=artifacts.LossType.CrossEntropyLoss,
            optimizer=artifacts.OptimType.SGD,
            artifact_directory=folder,
        )
        _lower_ir_versions(folder)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        state = api.CheckpointState.load_checkpoint(os.fspath(folder / "checkpoint"))
        self._module = api.Module(
            folder / "training_model.onnx", state, folder / "eval_model.onnx", session_options=options
        )
        self._optimizer = api.Optimizer(folder / "optimizer_model.onnx", self._module)
        self._optimizer.set_learning_rate(learning_rate)
        self._module.train()

    def step(self, x: np.ndarray, labels: np.ndarray) -> float:
        loss = self._module(x, labels)
        self._optimizer.step()
        self._module.lazy_reset_grad()
        return float(loss)
