"""Runs the litetrain command line in a separate process, as a user would,
optionally with some top-level modules blocked from import."""

from __future__ import annotations

import json
import subprocess
import sys

MARKER = "__blocked_imports__ "

# The child blocks the named modules, runs the CLI, and reports on its last
# stderr line every attempt to import them (an import error caught and ignored
# would otherwise go unnoticed) and any of them found loaded anyway.
_BLOCKING_MAIN = r"""
import json, sys
blocked = set(sys.argv[1].split(",")) - {""}
attempts = []

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            attempts.append(name)
            raise ImportError(f"{name} is blocked in this process")
        return None

sys.meta_path.insert(0, Block())
from litetrain.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as e:
    code = e.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in blocked)
print("__blocked_imports__ " + json.dumps({"attempts": sorted(set(attempts)), "loaded": loaded}), file=sys.stderr)
sys.exit(code)
"""


def litetrain(*args, block: tuple[str, ...] = (), timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m litetrain ARGS`, or the same with the modules in `block` unimportable.

    With `block`, the result has `blocked`: {"attempts": [...], "loaded": [...]}
    (stripped from stderr).
    """
    if not block:
        return subprocess.run(
            [sys.executable, "-m", "litetrain", *map(str, args)],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKING_MAIN, ",".join(block), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    lines = result.stderr.splitlines()
    report = [line for line in lines if line.startswith(MARKER)]
    assert report, f"the child did not report its imports: {result.stderr[-2000:]}"
    result.blocked = json.loads(report[-1][len(MARKER) :])
    result.stderr = "".join(line + "\n" for line in lines if not line.startswith(MARKER))
    return result
