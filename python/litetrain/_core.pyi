"""Type stubs of the private native module (cpp/bindings)."""

from typing import Any, Callable

import numpy as np

def set_default_library_path(path: str) -> None: ...
def default_library_path() -> str: ...
def set_log_level(level: str) -> None: ...
def get_log_level() -> str: ...

class TensorSpec:
    """One input or output of a signature, in the runtime's order."""

    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def shape(self) -> tuple[int, ...]: ...

class SignatureSpec:
    @property
    def key(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def num_ops(self) -> int: ...
    @property
    def inputs(self) -> list[TensorSpec]: ...
    @property
    def outputs(self) -> list[TensorSpec]: ...

class SignatureRunner:
    @property
    def spec(self) -> SignatureSpec: ...
    def run(self, inputs: dict[str, Any]) -> dict[str, np.ndarray]: ...
    def staged_bytes(self, index: int) -> int: ...

class KernelMode:
    XNNPACK: KernelMode
    BUILTIN: KernelMode
    REFERENCE: KernelMode

def kernel_mode_from_name(name: str) -> KernelMode: ...
def kernel_mode_name(mode: KernelMode) -> str: ...

class xnnpack_flags:
    QS8: int
    QU8: int
    FORCE_FP16: int
    DYNAMIC_FULLY_CONNECTED: int
    TRANSIENT_INDIRECTION_BUFFER: int
    ENABLE_LATEST_OPERATORS: int
    SLOW_CONSISTENT_ARITHMETIC: int
    KNOWN: int
    DEFAULT: int

class CpuOptions:
    threads: int
    xnnpack_flags: int
    kernel_mode: KernelMode
    weight_cache_path: str
    def __init__(self) -> None: ...
    def toml(self) -> str: ...

class ModelOptions:
    cpu: CpuOptions
    profiling: bool
    litert_library: str
    def __init__(self) -> None: ...

class OperatorProfile:
    index: int
    op: str
    in_xnnpack: bool
    microseconds: float
    reason: str

class XnnpackOperatorProfile:
    name: str
    microseconds: float

class SignatureProfile:
    signature: str
    runs: int
    run_microseconds: float
    xnnpack_microseconds: float
    builtin_microseconds: float
    operators: list[OperatorProfile]
    xnnpack_operators: list[XnnpackOperatorProfile]
    @property
    def operators_in_xnnpack(self) -> int: ...
    def describe(self) -> str: ...

class Model:
    @staticmethod
    def from_file(path: str, options: ModelOptions) -> Model: ...
    @staticmethod
    def from_bytes(data: bytes | bytearray | memoryview, options: ModelOptions) -> Model: ...
    @property
    def signatures(self) -> list[SignatureSpec]: ...
    def runner(self, key: str) -> SignatureRunner: ...
    def file_bytes(self) -> bytes: ...
    @property
    def uninitialized_variables(self) -> list[str]: ...
    @property
    def library_path(self) -> str: ...
    @property
    def threads(self) -> int: ...
    @property
    def cpu_options(self) -> CpuOptions: ...
    def profile(self, signature: str, runs: int, batch_size: int = 0) -> SignatureProfile: ...

class OnNonFinite:
    RAISE: OnNonFinite
    STOP: OnNonFinite
    ROLLBACK: OnNonFinite

class FitOptions:
    batch_size: int
    epochs: int
    initial_epoch: int
    initial_step: int
    shuffle: bool
    seed: int
    drop_remainder: bool
    on_nonfinite: OnNonFinite
    callback_every: int
    validation_signature: str
    def __init__(self) -> None: ...

class FitResult:
    @property
    def losses(self) -> np.ndarray: ...
    epoch_losses: list[float]
    metric_names: list[str]
    epoch_metrics: list[list[float]]
    steps: int
    runs: int
    epochs_completed: int
    seconds: float
    stopped: bool
    stop_reason: str

class EpochLogs:
    epoch: int
    steps: int
    loss: float
    @property
    def metrics(self) -> dict[str, float]: ...
    @property
    def validation(self) -> dict[str, float]: ...

class TrainingState:
    epochs_done: int
    steps_done: int
    seed: int
    batch_size: int
    shuffle: bool
    drop_remainder: bool
    learning_rate: float | None

STEPS_SIGNATURE_SUFFIX: str

class Trainer:
    def __init__(
        self,
        model: Model,
        train: str = "train",
        save: str = "",
        restore: str = "",
        loss: str = "loss",
        multi_step: bool = True,
    ) -> None: ...
    def fit(
        self,
        arrays: dict[str, np.ndarray],
        options: FitOptions,
        *,
        validation: dict[str, np.ndarray] | None,
        callback: Callable[[int, int, float], bool] | None,
        on_epoch_end: Callable[[EpochLogs], bool] | None,
        handle_sigint: bool,
    ) -> FitResult: ...
    def resume(self, path: str, total_epochs: int, options: FitOptions) -> None: ...
    def predict(self, arrays: dict[str, np.ndarray], batch_size: int, signature: str) -> dict[str, np.ndarray]: ...
    def evaluate(self, arrays: dict[str, np.ndarray], batch_size: int, signature: str) -> list[tuple[str, float]]: ...
    def snapshot(self) -> dict[str, np.ndarray]: ...
    def restore(self, arrays: dict[str, np.ndarray]) -> None: ...
    def save_checkpoint(self, path: str) -> None: ...
    def load_checkpoint(self, path: str) -> TrainingState | None: ...
    @property
    def training_state(self) -> TrainingState | None: ...
    def learning_rate(self) -> float | None: ...
    def set_learning_rate(self, value: float) -> None: ...

def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> list[int]: ...
def write_checkpoint(path: str, variables: dict[str, Any]) -> None: ...
def load_checkpoint(path: str) -> dict[str, np.ndarray]: ...

class BakeOptions:
    inference_only: bool
    require_runtime: str
    save_signature: str
    infer_signature: str
    allow_nonfinite: bool
    check_with: ModelOptions
    def __init__(self) -> None: ...

class BakeReport:
    @property
    def variables(self) -> tuple[str, ...]: ...
    infer_difference: float

class OperatorUse:
    name: str
    builtin_code: int
    version: int
    custom: bool
    @property
    def signatures(self) -> tuple[str, ...]: ...

class Incompatibility:
    op: OperatorUse
    max_version: int

def bake(
    model: Model | bytes | bytearray | memoryview, weights: dict[str, np.ndarray], path: str, options: BakeOptions
) -> tuple[bytes | None, BakeReport]: ...
def list_operators(model: bytes | bytearray | memoryview) -> list[OperatorUse]: ...
def find_incompatibilities(
    model: bytes | bytearray | memoryview, runtime: str
) -> tuple[list[Incompatibility], str]: ...
def known_runtimes() -> list[str]: ...

INFER_TOLERANCE: float

class BareStepLoop:
    def __init__(self, model: Model, signature: str, data: dict[str, np.ndarray], batch_size: int) -> None: ...
    def run(self, steps: int) -> float: ...
    def output(self, name: str) -> np.ndarray: ...
    @property
    def num_batches(self) -> int: ...
    @property
    def spec(self) -> SignatureSpec: ...

class StepTiming:
    """One system's result under the timing protocol (cpp/bench/step_timing.h)."""

    @property
    def median_us(self) -> float: ...
    @property
    def min_us(self) -> float: ...
    @property
    def max_us(self) -> float: ...
    @property
    def steps_per_round(self) -> int: ...
    @property
    def round_us(self) -> list[float]: ...

def time_interleaved(
    runners: list[Callable[[int], float]],
    *,
    rounds: int = 7,
    round_seconds: float = 0.25,
    warmup_seconds: float = 0.25,
    settle_seconds: float = 0.02,
    max_steps_per_round: int = 10_000_000,
) -> list[StepTiming]: ...
def median(values: list[float]) -> float: ...

# The epoch-end callbacks' rules (cpp/include/litetrain/callbacks.h).
class Improvement:
    def __init__(self, quantity: str, mode: str, min_delta: float) -> None: ...
    @property
    def quantity(self) -> str: ...
    @property
    def mode(self) -> str: ...  # "min" or "max"
    def beats(self, value: float, reference: float | None) -> bool: ...

class PatienceVerdict:
    improved: bool
    stop: bool

class PatienceRule:
    def __init__(
        self, improvement: Improvement, patience: int, baseline: float | None, start_from_epoch: int
    ) -> None: ...
    def reset(self) -> None: ...
    def step(self, epoch: int, value: float) -> PatienceVerdict: ...
    best: float | None
    best_epoch: int
    wait: int

class PlateauRule:
    def __init__(self, improvement: Improvement, patience: int, cooldown: int) -> None: ...
    def reset(self) -> None: ...
    def step(self, value: float) -> bool: ...
    def reduced(self) -> None: ...
    best: float | None
    wait: int
    cooldown_counter: int

def known_signature_names(role: str) -> list[str]: ...  # "save" or "restore", in the order they are tried
def uninitialized_variables(model: bytes | bytearray | memoryview) -> list[str]: ...
