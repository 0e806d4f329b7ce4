"""Optimizers whose state lives inside the trainable model as variables.

They mirror Keras 3's update rules exactly (the build tests compare against
them step by step). The learning rate is a variable of the model, changed
between steps through the ``set_learning_rate`` signature (see
:meth:`litetrain.Trainer.set_learning_rate`), so schedules need no rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass

from litetrain.errors import BuildError

# Names of the optimizer's own state among a model's variables (save/restore
# names): the learning rate, Adam's step count, and per-weight slots.
LEARNING_RATE = "optimizer__learning_rate"
ITERATIONS = "optimizer__iterations"
_SLOT_SUFFIXES = ("__adam_m", "__adam_v", "__momentum")


def is_optimizer_state(name: str) -> bool:
    """Whether a save/restore name is optimizer state rather than a model weight."""
    return name in (LEARNING_RATE, ITERATIONS) or name.endswith(_SLOT_SUFFIXES)


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Attributes:
        learning_rate: Initial step size.
        momentum: 0 for plain SGD.
        nesterov: Nesterov momentum (needs momentum > 0).
    """

    learning_rate: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        _check_positive("SGD learning_rate", self.learning_rate)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {self.momentum}")
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("SGD nesterov=True needs momentum > 0")


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba), Keras' formulation and defaults."""

    learning_rate: float = 0.001
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self):
        _check_positive("Adam learning_rate", self.learning_rate)
        for name in ("beta_1", "beta_2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"Adam {name} must be in [0, 1), got {getattr(self, name)}")


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), Keras' formulation."""

    weight_decay: float = 0.004

    def __post_init__(self):
        super().__post_init__()
        if self.weight_decay < 0:
            raise ValueError(f"AdamW weight_decay must be >= 0, got {self.weight_decay}")


def _check_positive(what: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{what} must be > 0, got {value}")


def resolve(optimizer):
    """An optimizer from ours or a Keras optimizer object (its config is copied)."""
    if isinstance(optimizer, (SGD, Adam)):
        return optimizer
    kind = type(optimizer).__name__
    config = getattr(optimizer, "get_config", lambda: None)()
    if config is None or kind not in ("SGD", "Adam", "AdamW"):
        raise BuildError(f"optimizer {optimizer!r} is not supported; use litetrain.optim.SGD, Adam or AdamW")
    for option in ("clipnorm", "clipvalue", "global_clipnorm"):
        if config.get(option) is not None:
            raise BuildError(f"optimizer {kind}: {option} is not supported")
    if config.get("use_ema"):
        raise BuildError(f"optimizer {kind}: use_ema is not supported")
    lr = config["learning_rate"]
    if not isinstance(lr, (int, float)):
        raise BuildError(f"optimizer {kind}: learning_rate must be a number (schedules: call set_learning_rate)")
    if kind == "SGD":
        if config.get("weight_decay"):
            raise BuildError("optimizer SGD: weight_decay is not supported; use AdamW")
        return SGD(float(lr), float(config["momentum"]), bool(config["nesterov"]))
    common = dict(beta_1=float(config["beta_1"]), beta_2=float(config["beta_2"]), epsilon=float(config["epsilon"]))
    if config.get("amsgrad"):
        raise BuildError(f"optimizer {kind}: amsgrad is not supported")
    if kind == "AdamW":
        return AdamW(float(lr), weight_decay=float(config["weight_decay"]), **common)
    if config.get("weight_decay"):
        raise BuildError("optimizer Adam: weight_decay is not supported; use AdamW")
    return Adam(float(lr), **common)
