"""The main job in one command: ``python -m litetrain.demo``.

Builds a trainable ``.tflite`` from a small Keras MLP with ``litetrain.build``
for ``sklearn.datasets.load_digits`` (real 8x8 digit images, shipped inside
scikit-learn: no download), trains it through litetrain's native core, and prints test accuracy and the median step
latency beside the same loop through ``ai_edge_litert``'s Python Interpreter,
from the same starting weights and the same batches.

Needs the ``build`` extra (TensorFlow) to build the model.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import litetrain
from litetrain import _native_logs
from litetrain._reference_models import digits_dataset

LAYERS = (64, 64, 10)


def _keras_mlp(seed: int):
    import litetrain.tf  # noqa: F401 - TensorFlow first, so that it starts quiet
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Dense(n, activation="relu") for n in LAYERS[1:-1]]
    return keras.Sequential([keras.Input((LAYERS[0],)), *layers, keras.layers.Dense(LAYERS[-1], name="logits")])


def _interpreter_loop(model_bytes: bytes, x, y, batch: int, epochs: int, seed: int):
    """The loop a user would otherwise write: ai_edge_litert's Interpreter
    signature runner, fed the same batches in the same order as fit."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    train = interpreter.get_signature_runner("train")
    losses, times = [], []
    for epoch in range(epochs):
        order = litetrain.epoch_order(len(x), seed, epoch)
        for start in range(0, len(x), batch):
            rows = order[start : start + batch]
            xb, yb = x[rows], y[rows]
            began = time.perf_counter()
            losses.append(float(train(x=xb, y=yb)["loss"]))
            times.append(time.perf_counter() - began)
    return np.asarray(losses), np.asarray(times), interpreter.get_signature_runner("infer")


def _accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == np.argmax(y, axis=1)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m litetrain.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = digits_dataset(seed=args.seed)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images, {LAYERS[-1]} classes")
    started = time.perf_counter()
    built = litetrain.build(
        _keras_mlp(args.seed), "categorical_crossentropy", litetrain.optim.SGD(0.1), from_logits=True
    )
    model_bytes = built.tflite
    print(
        f"litetrain.build: Keras {'-'.join(map(str, LAYERS))} MLP -> trainable .tflite "
        f"({len(model_bytes) / 1024:.0f} KiB, builtin ops only) in {time.perf_counter() - started:.1f} s"
    )

    trainer = litetrain.Trainer(model_bytes)
    history = trainer.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        validation_data=(x_test, y_test),
        progress=False,
    )
    accuracy = history.validation[-1]["accuracy"]
    ours_us = history.seconds / history.steps * 1e6

    with _native_logs.filtered():  # its "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        their_losses, their_times, infer = _interpreter_loop(
            model_bytes, x_train, y_train, args.batch_size, args.epochs, args.seed
        )
        their_accuracy = _accuracy(infer(x=x_test)["logits"], y_test)
    theirs_us = float(np.mean(their_times)) * 1e6

    print(
        f"trained {history.steps} steps of batch {args.batch_size} ({args.epochs} epochs) with "
        f"Trainer.fit; 'train' dispatches {trainer.model.signatures['train'].num_ops} ops per step"
    )
    print(f"loss {history.epoch_losses[0]:.3f} (epoch 1) -> {history.epoch_losses[-1]:.3f} (epoch {args.epochs})")
    print(f"test accuracy: litetrain {accuracy:.1%}, ai_edge_litert Interpreter loop {their_accuracy:.1%}")
    print(
        f"mean step: litetrain fit {ours_us:.1f} us (batch gathering included), "
        f"Interpreter loop {theirs_us:.1f} us (its run call alone): {theirs_us / ours_us:.2f}x"
    )
    drift = float(np.max(np.abs(history.losses - their_losses)))
    print(f"largest loss difference between the two runs: {drift:.2e}")


if __name__ == "__main__":
    main()
