"""Peak resident memory of a process that trains a model, one system per process.

``python -m litetrain.bench.memory SYSTEM MODEL_NAME BATCH MODEL_FILE STEPS``
trains with SYSTEM and prints one JSON object: the process's peak RSS
(the high-water mark, imports included), whether TensorFlow was
imported, and whether the loss went down. The litetrain process must not
import TensorFlow: it says so, and the suite fails if it did.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

SYSTEMS = {
    "litetrain_fit": "litetrain Trainer.fit (no TensorFlow)",
    "litert_interpreter": "ai_edge_litert Interpreter loop",
    "keras_fit": "TensorFlow Keras model.fit",
}


def _train(system: str, model_name: str, batch: int, model_file: str, steps: int) -> tuple[float, float]:
    """Trains `steps` steps; returns (mean loss of the first tenth, of the last tenth)."""
    import numpy as np

    from litetrain.bench.models import MODELS, training_data

    spec = MODELS[model_name]
    x, y = training_data(spec, batch)
    n = len(x) // batch
    epochs = max(1, steps // n)
    if system == "litetrain_fit":
        import litetrain

        losses = (
            litetrain.Trainer(model_file)
            .fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, progress=False)
            .losses
        )
    elif system == "litert_interpreter":
        from ai_edge_litert.interpreter import Interpreter

        train = Interpreter(model_path=model_file).get_signature_runner("train")
        losses = [
            float(train(x=x[i : i + batch], y=y[i : i + batch])["loss"])
            for _ in range(epochs)
            for i in range(0, len(x), batch)
        ]
    elif system == "keras_fit":
        from litetrain.bench.models import LEARNING_RATE
        from litetrain.tf import tensorflow as tf

        model = spec.keras()
        model.compile(
            optimizer=tf.keras.optimizers.SGD(LEARNING_RATE),
            loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True),
        )
        history = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
        losses = history.history["loss"]  # per epoch
    else:
        raise ValueError(f"unknown system {system!r}; known: {', '.join(SYSTEMS)}")
    losses = np.asarray(losses, dtype=np.float64)
    k = max(1, len(losses) // 10)
    return float(losses[:k].mean()), float(losses[-k:].mean())


def peak_rss_mb() -> float:
    """The process's peak resident set size, in MiB.

    Linux: VmHWM of /proc/self/status, which belongs to this program alone.
    Not getrusage's ru_maxrss: Linux carries that across exec from the
    forked parent (here, a suite that imported TensorFlow to build models).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    system, model_name, batch, model_file, steps = argv
    first, last = _train(system, model_name, int(batch), model_file, int(steps))
    print(
        json.dumps(
            {
                "system": system,
                "label": SYSTEMS[system],
                "model": model_name,
                "batch": int(batch),
                "model_file": Path(model_file).name,
                "peak_rss_mb": peak_rss_mb(),
                "tensorflow_imported": "tensorflow" in sys.modules,
                "loss_first": first,
                "loss_last": last,
                "trained": last < first,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
