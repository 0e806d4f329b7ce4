"""The CPU options every command that loads a model takes (--threads, --xnnpack-flags, ...)."""

from __future__ import annotations

import argparse
from typing import Any


def add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, help="CPU threads for LiteRT (default: 1)")
    parser.add_argument(
        "--xnnpack-flags",
        type=lambda text: int(text, 0),
        metavar="FLAGS",
        help="XNNPACK delegate flags, e.g. 0xB (default: the runtime's flags + DYNAMIC_FULLY_CONNECTED, 0xB)",
    )
    parser.add_argument(
        "--kernel-mode",
        choices=("xnnpack", "builtin", "reference"),
        default="xnnpack",
        help="xnnpack (default): XNNPACK runs what it can; builtin / reference: LiteRT's own kernels only",
    )


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of litetrain.Model for the options in `args`."""
    return {"threads": args.threads, "xnnpack_flags": args.xnnpack_flags, "kernel_mode": args.kernel_mode}
