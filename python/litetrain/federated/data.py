"""A node's local data: an ``.npz`` with ``x`` and ``y``, or one class-skewed shard of a data set."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LocalData:
    """Samples of one node; `x_val` / `y_val` are its held-out part (its own training data if none)."""

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def load_local_data(path: str | os.PathLike[str]) -> LocalData:
    """Reads ``x``, ``y`` (and optionally ``x_val``, ``y_val``) from an ``.npz`` file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: keys missing, or x and y of different lengths.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no data file {path!r} (an .npz with arrays x and y)")
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in ("x", "y") if k not in f.files]
        if missing:
            raise ValueError(f"{path}: an .npz with arrays x and y is needed; it lacks {missing} (has {f.files})")
        arrays = {k: np.ascontiguousarray(f[k]) for k in f.files}
    x, y = arrays["x"], arrays["y"]
    x_val, y_val = arrays.get("x_val", x), arrays.get("y_val", y)
    for a, b, what in ((x, y, ""), (x_val, y_val, "_val")):
        if len(a) != len(b):
            raise ValueError(f"{path}: x{what} has {len(a)} samples but y{what} has {len(b)}")
    if len(x) == 0:
        raise ValueError(f"{path}: no samples")
    return LocalData(x, y, x_val, y_val)


def split_by_class(y: np.ndarray, nodes: int, classes_per_node: int, *, seed: int = 0) -> list[np.ndarray]:
    """Sample indices of `nodes` non-IID shards: node i sees only `classes_per_node` classes.

    Node i holds `classes_per_node` consecutive classes (mod the class count)
    from class ``i * classes // nodes`` on: the nodes' first classes spread
    evenly, so every class lives on some node when ``classes_per_node >=
    ceil(classes / nodes)``. The samples of a class are dealt evenly among
    the nodes that hold it.
    """
    classes = np.unique(y)
    if not 1 <= classes_per_node <= len(classes):
        raise ValueError(f"classes_per_node must be in 1..{len(classes)}, got {classes_per_node}")
    if nodes < 1:
        raise ValueError(f"nodes must be >= 1, got {nodes}")
    holders: dict[int, list[int]] = {int(c): [] for c in classes}
    for node in range(nodes):
        for k in range(classes_per_node):
            holders[int(classes[(node * len(classes) // nodes + k) % len(classes)])].append(node)
    rng = np.random.default_rng(seed)
    shards: list[list[np.ndarray]] = [[] for _ in range(nodes)]
    for c, owners in holders.items():
        if not owners:
            continue
        members = rng.permutation(np.flatnonzero(y == c))
        for owner, part in zip(owners, np.array_split(members, len(owners))):
            shards[owner].append(part)
    return [np.sort(np.concatenate(parts)) if parts else np.empty(0, np.int64) for parts in shards]
