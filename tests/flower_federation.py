"""A real Flower Deployment federation on loopback for the tests: one SuperLink
and SuperNodes as separate processes (each in its own process group, so that
killing a node kills all of it), and ``flwr run`` submitting the app.

Everything runs from this interpreter's environment (its ``bin`` first on
PATH: the SuperLink and SuperNodes start ``flower-superexec`` by name) with a
private ``FLWR_HOME``; nothing is installed at run time.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
APP = Path(__file__).resolve().parents[1] / "examples" / "federated"


def example_prepare():
    """The example app's prepare.py as a module (build_model, write_data)."""
    spec = importlib.util.spec_from_file_location("federated_prepare", APP / "prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


class Federation:
    """Processes of one federation; :meth:`close` (or ``with``) ends them all.

    With `virtual_nodes`, the SuperLink runs Flower's Simulation runtime with
    that many virtual SuperNodes (Ray actors, one CPU each) instead of waiting
    for real ones.
    """

    def __init__(self, workdir: Path, *, virtual_nodes: int = 0) -> None:
        self.workdir = workdir
        self.home = workdir / "flwr-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "FLWR_HOME": str(self.home),
            "PYTHONUNBUFFERED": "1",
        }
        self.virtual_nodes = virtual_nodes
        config = (
            '[superlink]\ndefault = "local-deployment"\n\n'
            f'[superlink.local-deployment]\naddress = "127.0.0.1:{self.port}"\ninsecure = true\n'
        )
        if virtual_nodes:
            config += (
                f"\n[superlink.local-deployment.options]\nnum-supernodes = {virtual_nodes}\n"
                "\n[superlink.local-deployment.options.backend.client-resources]\nnum-cpus = 1\n"
            )
        (self.home / "config.toml").write_text(config)
        self.processes: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def start_superlink(self) -> None:
        self._start(
            "superlink",
            [
                str(BIN / "flower-superlink"),
                "--insecure",
                "--port",
                str(self.port),
                "--database",
                str(self.workdir / "state.db"),
                "--disable-runtime-dependency-installation",
                *(["--simulation"] if self.virtual_nodes else []),
            ],
        )
        wait_for(self._superlink_listens, 60, "the SuperLink to listen")

    def _superlink_listens(self) -> bool:
        if self.processes["superlink"].poll() is not None:
            raise RuntimeError(f"the SuperLink exited:\n{self.log('superlink')[-3000:]}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def start_supernode(self, name: str, command: list[str]) -> subprocess.Popen:
        """Starts a SuperNode from `command` (litetrain's CLI or flower-supernode itself)."""
        return self._start(name, command)

    def kill(self, name: str) -> None:
        """SIGKILL to the process group of `name`: the node dies as a device losing power would."""
        _kill_group(self.processes.pop(name))

    def run(self, app: Path, run_config: Path) -> subprocess.Popen:
        return self._start(
            "flwr-run",
            [str(BIN / "flwr"), "run", str(app), "local-deployment", "--run-config", str(run_config), "--stream"],
        )

    def close(self) -> None:
        for name in list(self.processes):
            _kill_group(self.processes.pop(name))

    def __enter__(self) -> "Federation":
        return self

    def __exit__(self, *_) -> None:
        self.close()


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the whole group is gone already
    process.wait(timeout=30)
