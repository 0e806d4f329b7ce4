"""The package's shape: TensorFlow only in litetrain.tf, loaded on first use; no import cycle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import litetrain

PACKAGE = Path(litetrain.__file__).parent
TENSORFLOW = ("tensorflow", "keras", "tf_keras")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _top_level_imports(path: Path) -> set[str]:
    """The modules `path` imports when it is imported (not those imported inside functions)."""
    return _imports_in(ast.parse(path.read_text()).body)


def _imports_in(statements) -> set[str]:
    found = set()
    for node in statements:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from package import name`: the submodule if `name` is one, else the package.
            found.update(
                f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES else node.module
                for alias in node.names
            )
        elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue  # for type checkers only
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # try / with / if / class bodies run at import time.
            for field in ("body", "orelse", "finalbody", "handlers"):
                found.update(_imports_in(getattr(node, field, [])))
    return found


def test_only_the_tensorflow_side_imports_tensorflow_at_its_top():
    importers = {
        name
        for name, path in MODULES.items()
        if any(imported.split(".")[0] in TENSORFLOW for imported in _top_level_imports(path))
    }
    assert importers, "the check found no importer of TensorFlow at all: it is reading the wrong files"
    outside = sorted(name for name in importers if not name.startswith("litetrain.tf"))
    assert outside == [], f"modules outside litetrain.tf import TensorFlow when imported: {outside}"
    # Every module of the TensorFlow side may assume TensorFlow: the package imports it first.
    assert "tensorflow" in _top_level_imports(MODULES["litetrain.tf"])


def test_every_module_outside_the_tensorflow_side_imports_without_tensorflow():
    # (a __main__ runs its command when imported)
    names = [name for name in MODULES if not name.startswith("litetrain.tf") and not name.endswith("__main__")]
    child = f"""
import importlib, json, sys
blocked, attempts = {TENSORFLOW!r}, []
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            attempts.append(name)
            raise ImportError(name + " is blocked in this process")
sys.meta_path.insert(0, Block())
absent = set()  # optional packages this machine lacks (flwr on a target board): not our question
for name in {names!r}:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] in ("litetrain", *blocked):
            raise
        absent.add(e.name)
import litetrain
print(json.dumps({{"attempts": sorted(set(attempts)), "dir_has_build": "build" in dir(litetrain)}}))
print("absent:", sorted(absent), file=sys.stderr)
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report == {"attempts": [], "dir_has_build": True}, f"{len(names)} modules imported; {report}"


@pytest.mark.needs_tensorflow
def test_the_tensorflow_names_load_on_first_use():
    from litetrain.tf import builder, export, keras_weights

    assert litetrain.build is builder.build
    assert litetrain.BuiltModel is builder.BuiltModel
    assert litetrain.LastLayers is builder.LastLayers and litetrain.LayersFrom is builder.LayersFrom
    assert litetrain.export is export.export and litetrain.ExportReport is export.ExportReport
    assert litetrain.load_weights is keras_weights.load_weights
    assert set(litetrain._TENSORFLOW_SIDE) <= set(litetrain.__all__)
    with pytest.raises(AttributeError, match="no attribute 'buld'"):
        litetrain.buld  # noqa: B018


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path (first node repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_module_level_imports_have_no_cycle():
    graph = {
        name: {imported for imported in _top_level_imports(path) if imported in MODULES and imported != "litetrain"}
        for name, path in MODULES.items()
    }
    assert sum(len(targets) for targets in graph.values()) > 50, "the check found too few imports to mean anything"
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"
