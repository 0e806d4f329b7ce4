"""Which TFLite runtimes can run a model (see litetrain/compatibility.h).

Runtimes refuse a whole model when it declares one builtin operator at a
version they do not register. litetrain knows what ``tflite-runtime`` 2.14
(the last classic runtime, still shipped on many boards) registers, measured
by loading a probe model per operator and version in it
(tools/probe_runtime_ops.py); the test suite re-measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

from litetrain import _core
from litetrain._sources import model_bytes

TFLITE_RUNTIME_2_14 = "tflite-runtime-2.14"


# One operator code of a model (litetrain/compatibility.h): ``name``
# ("FULLY_CONNECTED", or a custom op's code), ``builtin_code`` (32 for custom
# ops), ``version``, ``custom``, and ``signatures``: those whose runs use it
# (through control flow and the variable initializer too; empty if unused).
OperatorUse = _core.OperatorUse
# An operator a runtime cannot load: ``op`` and ``max_version``, its highest
# version there (0: none).
Incompatibility = _core.Incompatibility


@dataclass(frozen=True)
class Compatibility:
    """The result of :func:`check_compatibility`.

    Attributes:
        runtime: The runtime checked.
        problems: The operators it cannot load (empty: it runs every signature).
        description: The problems in one line.
    """

    runtime: str
    problems: tuple[Incompatibility, ...]
    description: str

    @property
    def ok(self) -> bool:
        return not self.problems

    def affects(self, signature: str) -> bool:
        """True if `signature` uses an operator the runtime lacks."""
        return any(signature in p.op.signatures for p in self.problems)

    def __str__(self) -> str:
        if self.ok:
            return f"{self.runtime} runs it"
        return f"{self.runtime} cannot load it: {self.description}"


def list_operators(model) -> list[OperatorUse]:
    """Every operator code the model (path, bytes or Model) declares, with the signatures using it."""
    return list(_core.list_operators(model_bytes(model)))


def known_runtimes() -> list[str]:
    """The runtimes :func:`check_compatibility` knows."""
    return list(_core.known_runtimes())


def check_compatibility(model, runtime: str = TFLITE_RUNTIME_2_14) -> Compatibility:
    """Checks that `runtime` can load `model` (a path, bytes or a Model).

    Raises:
        ValueError: An unknown runtime (see :func:`known_runtimes`).
        litetrain.ModelFormatError: The model file is damaged.
    """
    problems, description = _core.find_incompatibilities(model_bytes(model), runtime)
    return Compatibility(
        runtime,
        tuple(problems),
        description,
    )
