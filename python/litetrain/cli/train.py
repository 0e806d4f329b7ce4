"""``litetrain train MODEL --data FILE.npz``: a caller of :meth:`litetrain.Trainer.fit`.

Prints a history table (a row per epoch, from a callback), shows a progress
bar on a terminal, writes a checkpoint after every epoch (``--checkpoint``:
weights and the run's state in one atomic write), resumes from one
(``--resume``: fit's ``resume_from``, so that the run sees the batches an
unbroken one would), validates (``--validation-data`` / ``--validation-split``),
stops early (``--early-stopping``), sets the learning rate of models that
expose it (``--lr``) and plots the losses (``--plot``, needs matplotlib).

``--epochs`` is the total: resuming after 3 of 10 epochs trains 7 more.
Checkpoints of litetrain 0.1 kept their epoch count in ``CKPT.progress.json``
beside them; ``--resume`` reads such a file once and removes it once the
checkpoint holds the state itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from litetrain.callbacks import Callback
from litetrain.cli import cpu_options, signature_options

PROGRESS_FORMAT = "litetrain-train-progress"


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a .tflite training model on arrays from an .npz file",
        description="Trains MODEL's 'train' signature on the arrays in --data (named after its inputs) "
        "in the native loop, printing a row per epoch.",
    )
    train.add_argument("model", help="path of a .tflite training model (train/save/restore signatures)")
    train.add_argument(
        "--data", required=True, metavar="FILE.npz", help="arrays named after the 'train' inputs (np.savez)"
    )
    train.add_argument(
        "--epochs", type=int, default=1, help="total epochs, counting those a resumed checkpoint holds (default 1)"
    )
    train.add_argument(
        "--batch-size",
        type=int,
        help="samples per step (default: the model's fixed batch, else 32; on --resume, the run's)",
    )
    train.add_argument(
        "--drop-remainder",
        action="store_true",
        help="skip the last partial batch of each epoch (fixed-batch models need it)",
    )
    train.add_argument("--lr", type=float, help="learning rate (the model must have a set_learning_rate signature)")
    train.add_argument("--seed", type=int, help="seed of the shuffle (default 0; on --resume, the run's)")
    train.add_argument(
        "--validation-data", metavar="FILE.npz", help="arrays for the 'eval' signature, evaluated after every epoch"
    )
    train.add_argument(
        "--validation-split",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="hold out this fraction of --data (its last samples) for validation instead",
    )
    train.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        help="stop when val_loss (loss without validation) has not improved for PATIENCE epochs",
    )
    train.add_argument(
        "--checkpoint", metavar="PATH", help="write the weights and the run's state here after every epoch (.npz)"
    )
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    train.add_argument("--plot", metavar="FILE.png", help="plot the losses to this image (needs matplotlib)")
    cpu_options.add(train)
    signature_options.add(train, "train", "save", "restore")
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.early_stopping is not None and args.early_stopping < 0:
        raise ValueError(f"--early-stopping must be a non-negative patience, got {args.early_stopping}")
    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint PATH, the checkpoint to continue from")
    if args.validation_data and args.validation_split:
        raise ValueError("pass --validation-data or --validation-split, not both")
    pyplot = _matplotlib(args.plot) if args.plot else None  # before training, not after

    import litetrain
    from litetrain import callbacks

    model = litetrain.Model(args.model, **cpu_options.model_options(args))
    trainer = litetrain.Trainer(model, **signature_options.trainer_options(args))
    signature = trainer.model.signatures[trainer._train_signature]
    arrays = read_data(args.data, signature)
    validation = None
    if args.validation_data:
        if "eval" not in trainer.model.signatures:
            raise ValueError(f"--validation-data needs an 'eval' signature, which {args.model} lacks")
        validation = (read_data(args.validation_data, trainer.model.signatures["eval"]),)
    samples = len(next(iter(arrays.values())))

    resume = _Resume.find(trainer, args)
    if resume.done_epochs >= args.epochs:
        print(f"nothing to do: {args.checkpoint} already holds {resume.done_epochs} of {args.epochs} epochs")
        return 0
    if args.lr is not None:
        trainer.set_learning_rate(args.lr)
    # Given values win, so that a resume with others is refused, not ignored.
    batch = args.batch_size or resume.batch_size or _fixed_batch(signature) or 32
    seed = args.seed if args.seed is not None else (resume.seed or 0)
    training = samples - int(samples * args.validation_split)
    steps_per_epoch = training // batch if args.drop_remainder else -(-training // batch)
    lr = trainer.learning_rate
    print(
        f"training {args.model} on {training:,} samples from {args.data}: "
        f"{_epochs(resume.done_epochs + 1, args.epochs)}, batch {batch}, {steps_per_epoch} steps per epoch, seed {seed}"
        + (f", learning rate {lr:g}" if lr else "")
    )
    table = _Table(args.checkpoint, resume.legacy_progress)
    fit_callbacks: list[Callback] = [table]
    if args.lr is not None and resume.from_state:  # resume_from sets the run's rate; --lr overrides it
        fit_callbacks.insert(0, callbacks.LearningRateScheduler(lambda epoch: args.lr))
    if args.early_stopping is not None:
        monitor = "val_loss" if validation or args.validation_split else "loss"
        fit_callbacks.append(callbacks.EarlyStopping(monitor=monitor, patience=args.early_stopping))
    try:
        history = trainer.fit(
            arrays,
            batch_size=batch,
            epochs=args.epochs if resume.from_state else args.epochs - resume.done_epochs,
            initial_epoch=0 if resume.from_state else resume.done_epochs,
            seed=seed,
            drop_remainder=args.drop_remainder,
            validation_data=validation,
            validation_split=args.validation_split,
            callbacks=fit_callbacks,
            resume_from=args.checkpoint if resume.from_state else None,
            progress=None,
        )
    except KeyboardInterrupt:
        kept = f"; {args.checkpoint} holds the weights after epoch {table.last_saved}" if table.last_saved else ""
        print(f"interrupted in epoch {table.epoch + 1}{kept}", file=sys.stderr)
        raise
    if history.feature_seconds is not None:
        print(
            f"features: the frozen part ran once over the {training:,} samples ({history.feature_seconds:.3f} s); "
            "the steps trained the layers above it"
        )
    if history.stopped:
        print(f"stopped in epoch {table.epoch + 1}: {history.stop_reason}")
    if args.checkpoint and table.last_saved:
        print(f"checkpoint: {args.checkpoint} (after epoch {table.last_saved})")
    if pyplot is not None and len(history.losses):
        _plot(pyplot, args.plot, args.model, history, resume.done_epochs * steps_per_epoch, steps_per_epoch)
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
        raise ValueError(f"data file {path!r} is not an .npz archive of arrays: {e}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"data file {path!r} is a single array (.npy); save the arrays by input name with np.savez")
    with archive:
        names = list(archive.files)
        missing = [n for n in signature.inputs if n not in names]
        if missing:
            raise ValueError(
                f"data file {path!r} lacks {', '.join(map(repr, missing))} for signature 'train' "
                f"(it takes {', '.join(map(repr, signature.inputs))}; "
                f"the file holds {', '.join(map(repr, names)) or 'nothing'})"
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
        print(f"note: ignoring arrays of {path} that 'train' does not take: {', '.join(ignored)}")
    return arrays


def _fixed_batch(signature) -> int | None:
    for info in signature.inputs.values():
        if info.shape and info.shape[0] > 0:
            return info.shape[0]
    return None


class _Table(Callback):
    """A fit callback: a row per epoch, and the checkpoint after each."""

    def __init__(self, checkpoint: str | None, legacy_progress: str | None) -> None:
        super().__init__()
        self.checkpoint, self.legacy_progress = checkpoint, legacy_progress
        self.epoch = 0
        self.last_saved = 0
        self._header: list[str] | None = None
        self._started = 0.0
        self._steps = 0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.epoch = epoch
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        from tqdm.auto import tqdm

        seconds = time.perf_counter() - self._started
        shown = {k: v for k, v in logs.items() if k != "learning_rate"}
        if self._header is None:
            self._header = list(shown)
            tqdm.write(_row(["epoch", *self._header, "seconds", "steps/s"]))
        steps = self.params["steps"]
        values = [f"{epoch + 1}", *(f"{shown[k]:.4f}" if k in shown else "-" for k in self._header)]
        values += [f"{seconds:.3f}", f"{steps / seconds:,.0f}" if seconds else "-"]
        if self.checkpoint:
            self.trainer.save_checkpoint(self.checkpoint)  # the weights and the run's state, one atomic write
            self.last_saved = epoch + 1
            if self.legacy_progress:  # the checkpoint now holds what that file held
                Path(self.legacy_progress).unlink(missing_ok=True)
                self.legacy_progress = None
        tqdm.write(_row(values))


def _row(cells: list[str]) -> str:
    return "  ".join(f"{c:>9}" if i else f"{c:>5}" for i, c in enumerate(cells))


# --- resuming ---------------------------------------------------------------------------


def progress_path(checkpoint: str) -> str:
    """Where litetrain 0.1 kept the epoch count of a checkpoint (beside it)."""
    return checkpoint + ".progress.json"


class _Resume:
    """What --resume continues from: the checkpoint's own state, or a 0.1 progress file."""

    def __init__(self) -> None:
        self.done_epochs = 0
        self.from_state = False
        self.seed: int | None = None
        self.batch_size: int | None = None
        self.legacy_progress: str | None = None

    @classmethod
    def find(cls, trainer, args: argparse.Namespace) -> _Resume:
        resume = cls()
        if not args.checkpoint or not os.path.exists(args.checkpoint):
            if args.resume:
                print(f"no checkpoint at {args.checkpoint} yet: starting from the model's initial weights")
            elif not args.checkpoint:
                print("note: without --checkpoint the trained weights are not kept after this run")
            return resume
        if not args.resume:
            raise ValueError(
                f"checkpoint {args.checkpoint!r} exists: pass --resume to continue from it, or remove it to start over"
            )
        state = trainer.load_checkpoint(args.checkpoint)
        if state is not None:
            resume.from_state = True
            resume.done_epochs, resume.seed, resume.batch_size = state.epochs_done, state.seed, state.batch_size
            # A --seed, --batch-size or --drop-remainder unlike the run's is
            # refused by fit's resume_from, which names the value to pass.
            print(f"resuming from {args.checkpoint}: {state.epochs_done} epochs done")
        else:
            resume._read_legacy_progress(trainer, args)
        return resume

    def _read_legacy_progress(self, trainer, args: argparse.Namespace) -> None:
        path = progress_path(args.checkpoint)
        if not os.path.exists(path):
            print(f"resuming the weights of {args.checkpoint}; it records no epochs, so epochs count from 1")
            return
        try:
            state: dict[str, Any] = json.loads(Path(path).read_text())
            epochs = int(state["epochs"])
            if state.get("format") != PROGRESS_FORMAT:
                raise ValueError("not a litetrain progress file")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f"progress file {path!r} is damaged ({e}); remove it to resume the weights from epoch 1"
            ) from None
        if state.get("checkpoint_sha256") != _file_digest(args.checkpoint):
            raise ValueError(
                f"progress file {path!r} belongs to another version of {args.checkpoint!r} "
                "(the checkpoint changed since); "
                "remove it to resume the weights with epochs counted from 1"
            )
        self.done_epochs, self.legacy_progress = epochs, path
        self.seed = state.get("seed") if args.seed is None else args.seed
        self.batch_size = state.get("batch_size") if args.batch_size is None else args.batch_size
        if args.lr is None and state.get("learning_rate") is not None:
            trainer.set_learning_rate(float(state["learning_rate"]))
        print(f"resuming from {args.checkpoint}: {epochs} epochs done")


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
        raise FileNotFoundError(f"cannot write plot {plot_path!r}: folder {folder!r} does not exist")
    return pyplot


def _plot(pyplot, path: str, model: str, history, first_step: int, steps_per_epoch: int) -> None:
    losses = history.losses
    steps = first_step + np.arange(1, len(losses) + 1)
    figure, axes = pyplot.subplots(figsize=(7, 4))
    axes.plot(steps, losses, linewidth=0.8, alpha=0.5, label="loss per step")
    if history.epoch_losses:
        ends = first_step + steps_per_epoch * np.arange(1, len(history.epoch_losses) + 1)
        axes.plot(ends, history.epoch_losses, "o-", label="epoch mean")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title(f"litetrain train {os.path.basename(model)}")
    axes.legend()
    figure.tight_layout()
    from litetrain._files import write_atomically_with

    try:
        image_format = Path(path).suffix.lstrip(".").lower() or "png"
        write_atomically_with(path, lambda f: figure.savefig(f, format=image_format))
    finally:
        pyplot.close(figure)
