"""``litetrain train MODEL --data FILE.npz``: trains through the native loop.

Prints a history table (a row per epoch), shows a progress bar on a
terminal, writes a checkpoint after every epoch (``--checkpoint``), resumes
from one (``--resume``: the weights and the epoch count, so that the run sees
the batches an unbroken one would), sets the learning rate of models that
expose it (``--lr``) and plots the losses (``--plot``, needs matplotlib).

``--epochs`` is the total: resuming after 3 of 10 epochs trains 7 more.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from litetrain._files import write_atomically

PROGRESS_FORMAT = "litetrain-train-progress"


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a .tflite training model on arrays from an .npz file",
        description="Trains MODEL's 'train' signature on the arrays in --data (named after its inputs) "
        "in the native loop, printing a row per epoch.",
    )
    train.add_argument(
        "model", help="path of a .tflite training model (train/save/restore signatures)"
    )
    train.add_argument(
        "--data",
        required=True,
        metavar="FILE.npz",
        help="arrays named after the 'train' inputs (np.savez)",
    )
    train.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="total epochs, counting those a resumed checkpoint holds (default 1)",
    )
    train.add_argument(
        "--batch-size",
        type=int,
        help="samples per step (default: the model's fixed batch, else 32)",
    )
    train.add_argument(
        "--lr",
        type=float,
        help="learning rate (the model must have a set_learning_rate signature)",
    )
    train.add_argument(
        "--seed", type=int, default=0, help="seed of the shuffle (default 0)"
    )
    train.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="write the weights here after every epoch (.npz)",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue from --checkpoint if it exists"
    )
    train.add_argument(
        "--plot",
        metavar="FILE.png",
        help="plot the losses to this image (needs matplotlib)",
    )
    train.add_argument("--threads", type=int, help="CPU threads for LiteRT")
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.resume and not args.checkpoint:
        raise ValueError(
            "--resume needs --checkpoint PATH, the checkpoint to continue from"
        )
    pyplot = _matplotlib(args.plot) if args.plot else None  # before training, not after

    import litetrain

    trainer = litetrain.Trainer(args.model, threads=args.threads)
    signature = trainer.model.signatures["train"]
    arrays = read_data(args.data, signature)
    samples = len(next(iter(arrays.values())))
    batch = args.batch_size or _fixed_batch(signature) or 32

    first_epoch = 0
    if args.checkpoint and os.path.exists(args.checkpoint):
        if not args.resume:
            raise ValueError(
                f"checkpoint {args.checkpoint!r} exists: pass --resume to continue from it, or remove it to start over"
            )
        trainer.load_checkpoint(args.checkpoint)
        first_epoch, resumed_lr = _resumed_state(args.checkpoint, args.seed)
        if args.lr is None and resumed_lr is not None:
            trainer.set_learning_rate(
                resumed_lr
            )  # a setting of the run, not a weight: kept beside the checkpoint
    elif args.resume:
        print(
            f"no checkpoint at {args.checkpoint} yet: starting from the model's initial weights"
        )
    elif not args.checkpoint:
        print(
            "note: without --checkpoint the trained weights are not kept after this run"
        )
    if args.lr is not None:
        trainer.set_learning_rate(args.lr)
    if first_epoch >= args.epochs:
        print(
            f"nothing to do: {args.checkpoint} already holds {first_epoch} of {args.epochs} epochs"
        )
        return 0

    steps_per_epoch = -(-samples // batch)
    lr = trainer.learning_rate
    print(
        f"training {args.model} on {samples:,} samples from {args.data}: {_epochs(first_epoch + 1, args.epochs)}, "
        f"batch {batch}, {steps_per_epoch} steps per epoch, seed {args.seed}"
        + (f", learning rate {lr:g}" if lr else "")
    )
    history = _Run(trainer, arrays, batch, args, first_epoch, steps_per_epoch)
    try:
        history.train()
    except KeyboardInterrupt:
        kept = (
            f"; {args.checkpoint} holds the weights after epoch {history.last_saved}"
            if history.last_saved
            else ""
        )
        print(f"interrupted in epoch {history.epoch + 1}{kept}", file=sys.stderr)
        raise
    if pyplot is not None and history.losses:
        _plot(pyplot, args.plot, args.model, history, first_epoch * steps_per_epoch)
        print(f"plot: {args.plot}")
    return 0


def _epochs(first: int, last: int) -> str:
    return f"epochs {first}-{last}" if first < last else f"epoch {first}"


def read_data(path: str, signature) -> dict[str, np.ndarray]:
    """The arrays of an .npz file that feed `signature`'s inputs, checked against them."""
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"data file {path!r} does not exist") from None
    except (
        OSError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
    ) as e:  # what numpy and zipfile raise for a non-archive
        raise ValueError(
            f"data file {path!r} is not an .npz archive of arrays: {e}"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"data file {path!r} is a single array (.npy); save the arrays by input name with np.savez"
        )
    with archive:
        names = list(archive.files)
        missing = [n for n in signature.inputs if n not in names]
        if missing:
            raise ValueError(
                f"data file {path!r} lacks {', '.join(map(repr, missing))} for signature 'train' "
                f"(it takes {', '.join(map(repr, signature.inputs))}; the file holds {', '.join(map(repr, names)) or 'nothing'})"
            )
        arrays = {}
        for name, info in signature.inputs.items():
            value = archive[name]
            if value.dtype != info.dtype:
                raise ValueError(
                    f"array {name!r} in {path!r} is {value.dtype}; input {name!r} of 'train' takes {info.dtype} "
                    f"(save it with .astype(np.{info.dtype}))"
                )
            arrays[name] = np.ascontiguousarray(value)
    ignored = [n for n in names if n not in signature.inputs]
    if ignored:
        print(
            f"note: ignoring arrays of {path} that 'train' does not take: {', '.join(ignored)}"
        )
    return arrays


def _fixed_batch(signature) -> int | None:
    for info in signature.inputs.values():
        if info.shape and info.shape[0] > 0:
            return info.shape[0]
    return None


class _Run:
    """The epochs of one command: a row per epoch, the checkpoint after each."""

    def __init__(
        self,
        trainer,
        arrays,
        batch: int,
        args: argparse.Namespace,
        first_epoch: int,
        steps_per_epoch: int,
    ):
        self.trainer, self.arrays, self.batch, self.args = trainer, arrays, batch, args
        self.first_epoch, self.steps_per_epoch = first_epoch, steps_per_epoch
        self.epoch = first_epoch
        self.last_saved = 0
        self.losses: list[np.ndarray] = []
        self.epoch_losses: list[float] = []

    def train(self) -> None:
        from tqdm.auto import tqdm

        total = (self.args.epochs - self.first_epoch) * self.steps_per_epoch
        # A bar only on a terminal (disable=None); rows go through it so that they do not tear it.
        with tqdm(
            total=total, unit="step", disable=None, leave=False, file=sys.stderr
        ) as bar:
            done = 0

            def progress(step: int, epoch: int, loss: float) -> bool:
                bar.update(done + step - bar.n)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}", refresh=False)
                return True

            header_printed = False
            for epoch in range(self.first_epoch, self.args.epochs):
                self.epoch = epoch
                started = time.perf_counter()
                history = self.trainer.fit(
                    self.arrays,
                    batch_size=self.batch,
                    epochs=1,
                    initial_epoch=epoch,
                    seed=self.args.seed,
                    progress=False,
                    callback=progress if not bar.disable else None,
                    callback_every=max(1, self.steps_per_epoch // 50),
                )
                seconds = time.perf_counter() - started
                done += history.steps
                bar.update(done - bar.n)
                self.losses.append(history.losses)
                if history.stopped or not history.epoch_losses:
                    tqdm.write(f"stopped in epoch {epoch + 1}: {history.stop_reason}")
                    break
                self.epoch_losses.append(history.epoch_losses[0])
                metrics = history.epoch_metrics[0] if history.epoch_metrics else {}
                if not header_printed:
                    tqdm.write(_row(["epoch", "loss", *metrics, "seconds", "steps/s"]))
                    header_printed = True
                values = [
                    f"{epoch + 1}",
                    f"{history.epoch_losses[0]:.4f}",
                    *(f"{v:.4f}" for v in metrics.values()),
                ]
                values += [
                    f"{seconds:.3f}",
                    f"{history.steps / history.seconds:,.0f}"
                    if history.seconds
                    else "-",
                ]
                if self.args.checkpoint:
                    self.trainer.save_checkpoint(self.args.checkpoint)
                    write_progress(
                        self.args.checkpoint,
                        epoch + 1,
                        self.args.seed,
                        self.batch,
                        self.trainer.learning_rate,
                    )
                    self.last_saved = epoch + 1
                tqdm.write(_row(values))
        if self.args.checkpoint and self.last_saved:
            print(f"checkpoint: {self.args.checkpoint} (after epoch {self.last_saved})")


def _row(cells: list[str]) -> str:
    return "  ".join(f"{c:>9}" if i else f"{c:>5}" for i, c in enumerate(cells))


# --- resuming ---------------------------------------------------------------------------


def progress_path(checkpoint: str) -> str:
    """Where the epoch count of a checkpoint is kept (beside it)."""
    return checkpoint + ".progress.json"


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_progress(
    checkpoint: str,
    epochs: int,
    seed: int,
    batch_size: int,
    learning_rate: float | None,
) -> None:
    """Records that `checkpoint` holds the weights after `epochs` epochs (atomically)."""
    state = {
        "format": PROGRESS_FORMAT,
        "version": 1,
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "checkpoint_sha256": _file_digest(
            checkpoint
        ),  # ties it to that very checkpoint file
    }
    write_atomically(
        Path(progress_path(checkpoint)), json.dumps(state, indent=1).encode()
    )


def _resumed_state(checkpoint: str, seed: int) -> tuple[int, float | None]:
    """(epochs done, learning rate used) recorded beside `checkpoint`."""
    path = progress_path(checkpoint)
    if not os.path.exists(path):
        print(
            f"resuming the weights of {checkpoint}; no {path}, so epochs count from 1"
        )
        return 0, None
    try:
        state: dict[str, Any] = json.loads(Path(path).read_text())
        epochs = int(state["epochs"])
        if state.get("format") != PROGRESS_FORMAT:
            raise ValueError("not a litetrain progress file")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f"progress file {path!r} is damaged ({e}); remove it to resume the weights from epoch 1"
        ) from None
    if state.get("checkpoint_sha256") != _file_digest(checkpoint):
        raise ValueError(
            f"progress file {path!r} belongs to another version of {checkpoint!r} (the checkpoint changed since); "
            "remove it to resume the weights with epochs counted from 1"
        )
    if state.get("seed") != seed:
        print(
            f"note: the checkpoint's run used --seed {state.get('seed')}; this one uses {seed}, so batches differ"
        )
    print(f"resuming from {checkpoint}: {epochs} epochs done")
    learning_rate = state.get("learning_rate")
    return epochs, float(learning_rate) if learning_rate is not None else None


# --- plotting ------------------------------------------------------------------------------


def _matplotlib(plot_path: str):
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        from matplotlib import pyplot
    except ImportError:
        raise ValueError(
            f"--plot {plot_path} needs matplotlib, which is not installed: pip install 'litetrain[plot]'"
        ) from None
    folder = os.path.dirname(plot_path) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"cannot write plot {plot_path!r}: folder {folder!r} does not exist"
        )
    return pyplot


def _plot(pyplot, path: str, model: str, history: _Run, first_step: int) -> None:
    losses = np.concatenate(history.losses)
    steps = first_step + np.arange(1, len(losses) + 1)
    figure, axes = pyplot.subplots(figsize=(7, 4))
    axes.plot(steps, losses, linewidth=0.8, alpha=0.5, label="loss per step")
    if history.epoch_losses:
        ends = first_step + history.steps_per_epoch * np.arange(
            1, len(history.epoch_losses) + 1
        )
        axes.plot(ends, history.epoch_losses, "o-", label="epoch mean")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(f"litetrain train {os.path.basename(model)}")
    axes.legend()
    figure.tight_layout()
    target = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent or "."
    )
    os.fchmod(fd, 0o644)
    os.close(fd)
    try:
        figure.savefig(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        pyplot.close(figure)
