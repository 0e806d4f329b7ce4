"""The ``litetrain`` command line (also ``python -m litetrain``).

One module per command, each with ``register(commands)`` that adds its
parser and sets ``run`` (a function of the parsed arguments returning the
exit status). Adding a command is adding a module to COMMANDS.

Every failure prints one line, ``litetrain COMMAND: error: ...``, naming the
file and the problem, and exits 1; ``--debug`` shows the traceback instead.
Nothing here imports TensorFlow unless a command needs it, nor the bench
suite (litetrain.bench) unless ``bench`` runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from litetrain.cli import bake, bench, export, federated, inspect, train

COMMANDS = (inspect, train, bake, export, federated, bench)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="litetrain", description="Train TFLite / LiteRT models on the device.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("litetrain: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # every failure is one line naming the problem, unless --debug
        if args.debug:
            raise
        print(f"litetrain {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
