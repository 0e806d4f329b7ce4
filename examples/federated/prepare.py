"""Makes what the federated digits app needs, in OUT (default ./work):

- model.tflite: a 64-32-10 MLP for sklearn's load_digits, built by litetrain.build (SGD)
- node-K.npz: the training digits split non-IID, NODES shards of CLASSES classes each
- train.npz (the whole training set, for the Simulation runtime), test.npz (held out)
- run-config.toml: the run config with those paths, for flwr run --run-config

    python prepare.py [OUT] [--nodes 4] [--classes-per-node 5]

Needs TensorFlow (litetrain[build]) to build the model; the nodes do not.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np


def build_model(path: Path) -> None:
    import keras

    import litetrain

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    litetrain.build(
        model, "sparse_categorical_crossentropy", litetrain.optim.SGD(0.05), from_logits=True, batch_size=None
    ).save(path)


def write_data(out: Path, nodes: int, classes_per_node: int) -> None:
    from sklearn.datasets import load_digits

    from litetrain.federated import split_by_class

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:360], order[360:]
    np.savez(out / "test.npz", x=x[test], y=y[test])
    np.savez(out / "train.npz", x=x[train], y=y[train])
    for node, index in enumerate(split_by_class(y[train], nodes, classes_per_node)):
        held_out = np.zeros(len(index), bool)
        held_out[::5] = True
        own, val = train[index[~held_out]], train[index[held_out]]
        np.savez(out / f"node-{node}.npz", x=x[own], y=y[own], x_val=x[val], y_val=y[val])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="work")
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--classes-per-node", type=int, default=5)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    build_model(out / "model.tflite")
    write_data(out, args.nodes, args.classes_per_node)
    (out / "run-config.toml").write_text(
        f'model = "{out / "model.tflite"}"\n'
        f'out-dir = "{out / "global"}"\n'
        f'test-data = "{out / "test.npz"}"\n'
        f'data = "{out / "train.npz"}"\n'
        f"classes-per-node = {args.classes_per_node}\n"
    )
    print(f"wrote {out}: model.tflite, node-0..{args.nodes - 1}.npz, train.npz, test.npz, run-config.toml")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
