"""``litetrain inspect MODEL [--json] [--profile [SIGNATURE]]``: signatures, op counts,
variables, file size, which known runtimes can load it, and where a run's time goes."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import Any

import numpy as np

from litetrain.cli import cpu_options


def _describe(model_path: str) -> dict[str, Any]:
    import litetrain
    from litetrain.compatibility import known_runtimes

    with warnings.catch_warnings():  # reported below instead
        warnings.simplefilter("ignore", litetrain.UninitializedVariablesWarning)
        model = litetrain.Model(model_path)
    signatures = {
        key: {
            "ops": sig.num_ops,
            "inputs": {n: {"dtype": str(t.dtype), "shape": list(t.shape)} for n, t in sig.inputs.items()},
            "outputs": {n: {"dtype": str(t.dtype), "shape": list(t.shape)} for n, t in sig.outputs.items()},
        }
        for key, sig in model.signatures.items()
    }
    variables = None
    save_key = next((k for k in litetrain._core.known_signature_names("save") if k in model.signatures), None)
    save = model.signatures.get(save_key) if save_key else None
    if save is not None and not save.inputs and not model.uninitialized_variables:
        values = model.runner(save_key)()
        variables = {
            name: {"dtype": str(v.dtype), "shape": list(v.shape), "bytes": int(v.nbytes)} for name, v in values.items()
        }
    compatibility = {}
    for runtime in known_runtimes():
        check = litetrain.check_compatibility(model_path, runtime)
        compatibility[runtime] = {"ok": check.ok, "problems": check.description}
    return {
        "file": model_path,
        "file_bytes": os.path.getsize(model_path),
        "signatures": signatures,
        "variables": variables,
        "uninitialized_variables": list(model.uninitialized_variables),
        "compatibility": compatibility,
    }


def _print_description(info: dict[str, Any]) -> None:
    print(f"{info['file']}: {info['file_bytes']:,} bytes")
    for key, sig in info["signatures"].items():
        print(f"\nsignature {key!r}: {sig['ops']} ops")
        for role in ("inputs", "outputs"):
            for name, t in sig[role].items():
                print(f"  {role[:-1]:6} {name:24} {t['dtype']:8} {t['shape']}")
    print()
    for runtime, check in info["compatibility"].items():
        print(f"{runtime}: " + ("loads it" if check["ok"] else f"cannot load it: {check['problems']}"))
    if info["uninitialized_variables"]:
        print(
            "\nuninitialized variables: " + ", ".join(info["uninitialized_variables"]) + "\n  the file gives them "
            "no value (TensorFlow drops those of Keras 3 layers held by a tf.Module): save returns garbage and "
            "train fails until a restore sets them; build Keras models with litetrain.build"
        )
    variables = info["variables"]
    if variables is None:
        print("\nvariables: unknown (no 'save' signature without inputs, or uninitialized ones)")
        return
    total = sum(v["bytes"] for v in variables.values())
    count = sum(int(np.prod(v["shape"], dtype=np.int64)) for v in variables.values())
    print(f"\nvariables (from 'save'): {len(variables)}, {count:,} values, {total:,} bytes")
    for name, v in variables.items():
        print(f"  {name:32} {v['dtype']:8} {v['shape']}")


def _profile(args: argparse.Namespace, signatures: dict[str, Any]) -> Any:
    import litetrain

    signature = args.profile or ("train" if "train" in signatures else next(iter(signatures), None))
    if signature not in signatures:
        known = ", ".join(repr(k) for k in signatures) or "none"
        raise ValueError(f"--profile: the model has no signature {signature!r}; its signatures are: {known}")
    return litetrain.profile(
        args.model, signature, runs=args.runs, batch_size=args.batch_size, **cpu_options.model_options(args)
    )


def _profile_json(profile: Any) -> dict[str, Any]:
    return {
        "signature": profile.signature,
        "runs": profile.runs,
        "run_microseconds": profile.run_microseconds,
        "xnnpack_microseconds": profile.xnnpack_microseconds,
        "builtin_microseconds": profile.builtin_microseconds,
        "operators": [
            {
                "index": op.index,
                "op": op.op,
                "in_xnnpack": op.in_xnnpack,
                "microseconds": op.microseconds,
                "reason": op.reason,
            }
            for op in profile.operators
        ],
        "xnnpack_operators": [{"name": op.name, "microseconds": op.microseconds} for op in profile.xnnpack_operators],
    }


def _inspect(args: argparse.Namespace) -> int:
    info = _describe(args.model)
    profile = _profile(args, info["signatures"]) if args.profile is not None else None
    if args.json:
        if profile is not None:
            info["profile"] = _profile_json(profile)
        json.dump(info, sys.stdout, indent=2)
        print()
    else:
        _print_description(info)
        if profile is not None:
            print("\n" + profile.describe(), end="")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    inspect = commands.add_parser("inspect", help="signatures, op counts, variables and sizes of a .tflite")
    inspect.add_argument("model", help="path of a .tflite file")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")
    inspect.add_argument(
        "--profile",
        nargs="?",
        const="",
        metavar="SIGNATURE",
        help="run SIGNATURE (default: train) and show which operators run inside XNNPACK and the time of each",
    )
    inspect.add_argument("--runs", type=int, default=20, help="profiled runs (default: 20)")
    inspect.add_argument("--batch-size", type=int, help="profile at this batch size instead of the file's")
    cpu_options.add(inspect)
    inspect.set_defaults(run=_inspect)
