"""``litetrain bake MODEL --checkpoint CKPT -o OUT [--inference-only]``.

Writes MODEL with the checkpoint's weights as its initial values (it keeps
training from there, and its ``infer`` is the deployable model), or with
``--inference-only`` a plain inference model: only ``infer``, the weights as
constants. No TensorFlow is needed. Then says which known runtimes load the
result, and offers the inference-only form when it would load where the
training form does not.
"""

from __future__ import annotations

import argparse
import os

from litetrain.cli import signature_options


def register(commands: argparse._SubParsersAction) -> None:
    bake = commands.add_parser(
        "bake",
        help="write a model with a checkpoint's weights baked in (optionally inference-only)",
        description="Writes MODEL with the weights of CKPT as its initial values; the result is checked by "
        "loading it fresh before it is written.",
    )
    bake.add_argument("model", help="path of the .tflite training model the checkpoint belongs to")
    bake.add_argument(
        "--checkpoint",
        required=True,
        metavar="CKPT",
        help="checkpoint (.npz) with the weights",
    )
    bake.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="where to write the .tflite (atomically)",
    )
    bake.add_argument(
        "--inference-only",
        action="store_true",
        help="keep only 'infer', weights as constants, no optimizer state",
    )
    bake.add_argument(
        "--require-runtime",
        metavar="RUNTIME",
        help="refuse to write a model this runtime cannot load (known: tflite-runtime-2.14)",
    )
    bake.add_argument(
        "--allow-nonfinite",
        action="store_true",
        help="bake weights holding NaN or infinity (refused by default: a diverged run)",
    )
    signature_options.add(bake, "save")
    bake.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import litetrain
    from litetrain.compatibility import known_runtimes

    baked = litetrain.bake(
        args.model,
        args.checkpoint,
        args.output,
        inference_only=args.inference_only,
        require_runtime=args.require_runtime,
        allow_nonfinite=args.allow_nonfinite,
        save=args.save_signature,
    )
    model = litetrain.Model(args.output)
    size = os.path.getsize(args.output)
    if args.inference_only:
        infer = model.signatures["infer"]
        inputs = ", ".join(f"{n} {t.dtype}{list(t.shape)}" for n, t in infer.inputs.items())
        outputs = ", ".join(f"{n} {t.dtype}{list(t.shape)}" for n, t in infer.outputs.items())
        print(
            f"wrote {args.output}: {size:,} bytes, inference only: 'infer' ({infer.num_ops} ops) {inputs} -> {outputs}"
        )
        if baked.infer_difference == 0:
            how = "bit for bit"
        else:  # constant weights may run through other kernels than variables
            how = f"to {baked.infer_difference:.1e} of each output's largest value"
        print(f"checked: loaded fresh, its 'infer' answers as {args.model} with {args.checkpoint} does, {how}")
    else:
        print(f"wrote {args.output}: {size:,} bytes, signatures {', '.join(model.signatures)}")
        save = args.save_signature or next(
            (k for k in litetrain._core.known_signature_names("save") if k in model.signatures), "save"
        )
        print(
            f"checked: loaded fresh, its {save!r} signature returns the {len(baked.variables)} variables of "
            f"{args.checkpoint} bit for bit"
        )
    for runtime in known_runtimes():
        check = litetrain.check_compatibility(args.output, runtime)
        if check.ok:
            print(f"{runtime}: loads it")
            continue
        line = f"{runtime}: cannot load it: {check.description}"
        if not args.inference_only and _inference_only_loads(args, runtime):
            line += "; its inference-only form loads there (add --inference-only)"
        print(line)
    return 0


def _inference_only_loads(args: argparse.Namespace, runtime: str) -> bool:
    import litetrain

    try:
        frozen = litetrain.bake(
            args.model, args.checkpoint, None, inference_only=True, allow_nonfinite=args.allow_nonfinite
        ).data
    except ValueError:  # e.g. `infer` changes a variable: no inference-only form
        return False
    return litetrain.check_compatibility(frozen, runtime).ok
