"""``--train-signature`` / ``--save-signature`` / ``--restore-signature``:
models written for other runtimes name their signatures otherwise (Flower's
BaseTFLiteModel returns its weights from ``parameters``). Unset, the known
names are tried (see litetrain.Trainer)."""

from __future__ import annotations

import argparse

ROLES = {
    "train": "the signature that runs one training step (default train)",
    "save": "the signature that returns every variable (default: save, else parameters)",
    "restore": "the signature that takes every variable (default restore)",
}


def add(parser: argparse.ArgumentParser, *roles: str) -> None:
    for role in roles:
        parser.add_argument(f"--{role}-signature", metavar="NAME", help=ROLES[role])


def trainer_options(args: argparse.Namespace) -> dict[str, str]:
    """The keyword arguments of litetrain.Trainer the options ask for."""
    options = {}
    for role in ("train", "save", "restore"):
        name = getattr(args, f"{role}_signature", None)
        if name:
            options[role] = name
    return options
