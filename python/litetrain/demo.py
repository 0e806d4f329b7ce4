"""The main job in one command: ``python -m litetrain.demo``.

Builds a small MLP for ``sklearn.datasets.load_digits`` (real 8x8 digit
images, shipped inside scikit-learn: no download), trains it through
litetrain's native core, and prints test accuracy and the median step
latency beside the same loop through ``ai_edge_litert``'s Python Interpreter,
from the same starting weights and the same batches.

Needs the ``build`` extra (TensorFlow) to build the model.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

import litetrain
from litetrain._reference_models import digits_dataset, mlp_training_model

LAYERS = (64, 64, 10)


def _batches(x: np.ndarray, y: np.ndarray, batch: int, epochs: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch + 1, batch):
            rows = order[start : start + batch]
            yield x[rows], y[rows]


def _train(step: Callable[..., dict], batches) -> tuple[list[float], np.ndarray]:
    """Runs every batch through `step`; returns the losses and step times (s)."""
    losses, times = [], []
    for x, y in batches:
        start = time.perf_counter()
        out = step(x=x, y=y)
        times.append(time.perf_counter() - start)
        losses.append(float(out["loss"]))
    return losses, np.asarray(times)


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
    model_bytes = mlp_training_model(LAYERS, batch_size=None, learning_rate=0.1, seed=args.seed)
    print(f"built a {'-'.join(map(str, LAYERS))} training MLP ({len(model_bytes) / 1024:.0f} KiB) "
          f"with TensorFlow in {time.perf_counter() - started:.1f} s")

    def batches():
        return _batches(x_train, y_train, args.batch_size, args.epochs, args.seed)

    model = litetrain.Model(model_bytes)
    ops = model.signatures["train"].num_ops
    losses, ours = _train(model.runner("train"), batches())
    accuracy = _accuracy(model.runner("infer")(x=x_test)["logits"], y_test)

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    their_losses, theirs = _train(interpreter.get_signature_runner("train"), batches())
    their_accuracy = _accuracy(interpreter.get_signature_runner("infer")(x=x_test)["logits"], y_test)

    ours_us, theirs_us = np.median(ours) * 1e6, np.median(theirs) * 1e6
    print(f"trained {len(losses)} steps of batch {args.batch_size} ({args.epochs} epochs), "
          f"'train' dispatches {ops} ops per step")
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print(f"test accuracy: litetrain {accuracy:.1%}, ai_edge_litert Interpreter {their_accuracy:.1%}")
    print(f"median step: litetrain {ours_us:.1f} us, Interpreter {theirs_us:.1f} us "
          f"({theirs_us / ours_us:.2f}x)")
    drift = float(np.max(np.abs(np.asarray(losses) - np.asarray(their_losses))))
    print(f"largest loss difference between the two runs: {drift:.2e}")


if __name__ == "__main__":
    main()
