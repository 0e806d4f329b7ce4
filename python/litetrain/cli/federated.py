"""``litetrain federated client MODEL --data FILE.npz --superlink HOST:PORT``.

Makes this device a node of a Flower federation: checks that MODEL trains on
FILE.npz here (the errors come now, not in round 1), then becomes a Flower
SuperNode (``flower-supernode``) connected to the SuperLink, whose ClientApp
is litetrain's (``litetrain.federated.client_app:app``) with MODEL and the
data as its node config. The server side submits the run with ``flwr run``
(see ``examples/federated``). No TensorFlow is needed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys


def register(commands: argparse._SubParsersAction) -> None:
    federated = commands.add_parser(
        "federated",
        help="federated training on Flower (a node of a federation)",
        description="Federated training on Flower.",
    )
    roles = federated.add_subparsers(dest="role", required=True, metavar="ROLE")
    client = roles.add_parser(
        "client",
        help="join a Flower federation as a SuperNode training MODEL on local data",
        description="Checks MODEL and the data, then runs a Flower SuperNode whose ClientApp is litetrain's.",
    )
    client.add_argument("model", help="this node's copy of the .tflite training model (the server's model)")
    client.add_argument(
        "--data",
        required=True,
        metavar="FILE.npz",
        help="local data: arrays x and y (and optionally x_val, y_val for evaluation)",
    )
    client.add_argument("--superlink", required=True, metavar="HOST:PORT", help="the SuperLink's Fleet API address")
    security = client.add_mutually_exclusive_group(required=True)
    security.add_argument("--insecure", action="store_true", help="connect without TLS (a trusted network only)")
    security.add_argument("--root-certificates", metavar="PEM", help="CA certificate of the SuperLink's TLS")
    client.add_argument(
        "--port",
        type=int,
        default=9094,
        help="port of this SuperNode's own local API (default 9094; differ per node on one host)",
    )
    client.add_argument("--dry-run", action="store_true", help="check the model and data, print the command, exit")
    client.set_defaults(run=run_client)


def supernode_command(args: argparse.Namespace) -> list[str]:
    """The ``flower-supernode`` command line for these arguments."""
    executable = shutil.which("flower-supernode") or os.path.join(os.path.dirname(sys.executable), "flower-supernode")
    node_config = f"model='{os.path.abspath(args.model)}' data='{os.path.abspath(args.data)}'"
    security = ["--insecure"] if args.insecure else ["--root-certificates", args.root_certificates]
    return [
        executable,
        *security,
        "--superlink",
        args.superlink,
        "--port",
        str(args.port),
        "--node-config",
        node_config,
    ]


def run_client(args: argparse.Namespace) -> int:
    for path in (args.model, args.data):
        if "'" in os.path.abspath(path):
            raise ValueError(f"{path}: a path with a single quote cannot be passed in Flower's node config")
    from litetrain.federated.data import load_local_data
    from litetrain.federated.node import FederatedNode

    node = FederatedNode(args.model, load_local_data(args.data))
    command = supernode_command(args)
    print(
        f"litetrain federated client: {args.model} (weights {node.fingerprint}), "
        f"{len(node.data.x)} local samples; starting: {' '.join(command)}",
        flush=True,
    )
    if args.dry_run:
        return 0
    if not os.path.exists(command[0]):
        raise FileNotFoundError(
            'flower-supernode not found: install the federated extra (pip install "litetrain[federated]")'
        )
    # The SuperNode starts its helpers (flower-superexec) by name: keep this environment's tools first.
    os.environ["PATH"] = os.path.dirname(command[0]) + os.pathsep + os.environ.get("PATH", "")
    os.execv(command[0], command)
    return 0  # not reached
