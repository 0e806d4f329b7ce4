"""``litetrain export KERAS_MODEL --checkpoint CKPT -o OUT [--quantize Q] [--data FILE.npz]``.

Writes an inference-only ``.tflite`` of a saved Keras model (``.keras``) with
the checkpoint's weights, optionally quantized (:func:`litetrain.export`).
Needs TensorFlow; without it the command says what to install (``litetrain
bake --inference-only`` makes an unquantized inference model without it).
"""

from __future__ import annotations

import argparse
import importlib.util

from litetrain._export_options import QUANTIZATIONS


def register(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export",
        help="inference .tflite (optionally quantized) from a Keras model and a checkpoint; needs TensorFlow",
        description="Writes an inference-only .tflite of KERAS_MODEL with CKPT's weights and reports its size "
        "and its accuracy against the float model.",
    )
    export.add_argument("keras_model", help="the .keras file the training model was built from")
    export.add_argument("--checkpoint", metavar="CKPT", help="checkpoint (.npz) with the trained weights")
    export.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write the .tflite (atomically)")
    export.add_argument("--quantize", choices=[q for q in QUANTIZATIONS if q], help="default: float32")
    export.add_argument(
        "--data",
        metavar="FILE.npz",
        help="arrays x (and y): calibration for int8 (first 200 samples) and the accuracy report",
    )
    export.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    if importlib.util.find_spec("tensorflow") is None:
        raise RuntimeError(
            "export needs TensorFlow: pip install 'litetrain[build]' "
            "(without it, 'litetrain bake --inference-only' writes an unquantized inference model)"
        )
    import litetrain
    import litetrain.tf  # noqa: F401 - TensorFlow first, so that it starts quiet
    import keras

    model = keras.saving.load_model(args.keras_model, compile=False)
    x = y = None
    if args.data:
        with np.load(args.data) as data:
            if "x" not in data:
                raise ValueError(f"{args.data}: no array named 'x' (found: {', '.join(data.files)})")
            x, y = data["x"], data["y"] if "y" in data else None
    if args.quantize == "int8" and x is None:
        raise ValueError("--quantize int8 needs --data FILE.npz with calibration inputs 'x'")
    report = litetrain.export(
        model,
        args.checkpoint,
        args.output,
        quantize=args.quantize,
        representative_data=None if x is None else x[:200],
        validation_data=None if x is None else (x, y),
    )
    print(report)
    return 0
