"""``litetrain bench`` (also ``python -m litetrain.bench``): the command line of the suite.

The suite itself (litetrain.bench) is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_OUT = "bench-results"


def _list(kind):
    def parse(text: str):
        try:
            return [kind(item) for item in text.split(",") if item]
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list: {e}") from e

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a subset with looser gates, for CI on a shared machine (under two minutes)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        help=f"results folder: bench.json, bench.md, PNG plots, logs (default: {DEFAULT_OUT})",
    )
    parser.add_argument("--models", type=_list(str), help="comma-separated model names (default: all of the mode)")
    parser.add_argument("--batches", type=_list(int), help="only these batch sizes")
    parser.add_argument("--threads", type=_list(int), help="thread counts (default: 1,2 full, 1 quick)")
    parser.add_argument("--systems", type=_list(str), help="only these systems (the limit and Trainer.fit always run)")
    parser.add_argument("--rounds", type=int, help="timed rounds per system (odd)")
    parser.add_argument("--round-seconds", type=float, help="target length of one round")
    parser.add_argument("--model-cache", type=Path, help="folder of built .tflite files (default: OUT/models)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument(
        "--update-readme",
        type=Path,
        metavar="README",
        help="also replace the benchmark section between the README's bench markers",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="BASELINE.json",
        help="also fail when a same-run ratio (Trainer.fit over another system) regressed by more "
        "than 10%% against this earlier bench.json (e.g. bench/results/bench.json), in the run and "
        "again when its flagged cases are timed once more right after it",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: re-make the report, plots (and README section) from OUT/bench.json "
        "(with --compare, flags are judged by the second timings stored there)",
    )


def run(args: argparse.Namespace, command: str) -> int:
    from litetrain.bench import suite
    from litetrain.bench.models import MODELS
    from litetrain.bench.systems import SYSTEMS

    for name in args.models or []:
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; models: {', '.join(MODELS)}")
    for name in args.systems or []:
        if name not in SYSTEMS:
            raise ValueError(f"unknown system {name!r}; systems: {', '.join(SYSTEMS)}")
    if args.update_readme is not None and not args.update_readme.is_file():
        raise ValueError(f"README file {args.update_readme} does not exist")
    if args.compare is not None and not args.compare.is_file():
        raise ValueError(f"baseline {args.compare} does not exist (a bench.json of an earlier run)")
    if args.report_only:
        return 0 if suite.rewrite(args.out, args.update_readme, args.compare).passed else 1
    plan = suite.quick_plan(args.models) if args.quick else suite.full_plan(args.models)
    plan.command = command
    if args.batches:
        plan.cases = [c for c in plan.cases if c[1] in args.batches]
    if args.threads:
        if any(t < 1 for t in args.threads):
            raise ValueError("thread counts must be >= 1")
        plan.threads = args.threads
    if args.systems:
        plan.systems = [s for s in SYSTEMS if s in args.systems or s in ("limit", "litetrain_fit")]
    if args.rounds is not None:
        if args.rounds < 1:
            raise ValueError("--rounds must be >= 1")
        plan.protocol["rounds"] = args.rounds
    if args.round_seconds is not None:
        if args.round_seconds <= 0:
            raise ValueError("--round-seconds must be > 0")
        plan.protocol["round_seconds"] = plan.protocol["warmup_seconds"] = args.round_seconds
    if not plan.cases:
        raise ValueError("no case left to run after --models/--batches")
    verdict = suite.run(
        plan, args.out, args.model_cache, args.update_readme, memory=not args.no_memory, baseline=args.compare
    )
    return 0 if verdict.passed else 1


def register(commands) -> None:
    """Registers ``bench`` in the ``litetrain`` command line's subcommands."""
    parser = commands.add_parser("bench", help="time training steps against the limit and the alternatives")
    add_arguments(parser)
    parser.set_defaults(run=lambda args: run(args, " ".join(["litetrain bench", *_after("bench", sys.argv)])))


def _after(word: str, argv: list[str]) -> list[str]:
    return argv[argv.index(word) + 1 :] if word in argv else []


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m litetrain.bench``."""
    parser = argparse.ArgumentParser(prog="python -m litetrain.bench", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    add_arguments(parser)
    args = parser.parse_args(argv)
    shown = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(args, " ".join(["python -m litetrain.bench", *shown]))
    except KeyboardInterrupt:
        print("litetrain bench: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one line naming the problem, unless --debug
        if args.debug:
            raise
        print(f"litetrain bench: error: {e}", file=sys.stderr)
        return 1
