"""Optimizer updates as graph ops, with Keras 3's formulas, and the names of their state."""

from __future__ import annotations

import tensorflow as tf

from litetrain.optim import ITERATIONS, LEARNING_RATE, SGD, Adam, AdamW, is_optimizer_state

__all__ = [
    "ITERATIONS",
    "LEARNING_RATE",
    "apply",
    "has_iterations",
    "is_optimizer_state",
    "prescales_gradients",
    "slot_names",
]


def slot_names(optimizer, weight_name: str) -> list[str]:
    """Names of the per-weight state variables of `optimizer`."""
    if isinstance(optimizer, Adam):
        return [f"{weight_name}__adam_m", f"{weight_name}__adam_v"]
    if isinstance(optimizer, SGD) and optimizer.momentum:
        return [f"{weight_name}__momentum"]
    return []


def has_iterations(optimizer) -> bool:
    return isinstance(optimizer, Adam)


def prescales_gradients(optimizer) -> bool:
    """Plain SGD: gradients come out of the tape already times the learning rate.

    Backpropagation is linear in the loss's upstream gradient, so seeding it
    with the learning rate instead of 1 scales every gradient once, at the
    loss, instead of once per weight; the update is then one SUB per weight.
    """
    return isinstance(optimizer, SGD) and not optimizer.momentum


def apply(optimizer, lr, params, slots, iterations):
    """Assigns the new values.

    Args:
        lr: The learning rate (a scalar tensor read this step).
        params: (variable, value read this step, gradient) per trainable weight.
        slots: Slot variables per weight, in slot_names order.
        iterations: The step counter variable (Adam) or None.
    """
    if prescales_gradients(optimizer):
        for variable, value, grad in params:
            variable.assign(value - grad)
        return
    if isinstance(optimizer, SGD):
        for (variable, value, grad), (momentum,) in zip(params, slots):
            m = momentum.read_value() * optimizer.momentum - grad * lr
            momentum.assign(m)
            step = (m * optimizer.momentum - grad * lr) if optimizer.nesterov else m
            variable.assign(value + step)
        return
    local_step = tf.cast(iterations.read_value() + 1, tf.float32)
    iterations.assign_add(1)
    b1, b2 = optimizer.beta_1, optimizer.beta_2
    alpha = lr * tf.sqrt(1.0 - tf.pow(b2, local_step)) / (1.0 - tf.pow(b1, local_step))
    for (variable, value, grad), (m_var, v_var) in zip(params, slots):
        if isinstance(optimizer, AdamW) and optimizer.weight_decay:
            value = value - value * (optimizer.weight_decay * lr)
        m = m_var.read_value()
        v = v_var.read_value()
        m = m + (grad - m) * (1.0 - b1)
        v = v + (grad * grad - v) * (1.0 - b2)
        m_var.assign(m)
        v_var.assign(v)
        variable.assign(value - (m * alpha) / (tf.sqrt(v) + optimizer.epsilon))
