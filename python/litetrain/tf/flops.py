"""The FLOPs of a training step of a Keras model: what the bench holds against
the arithmetic limit, and how litetrain.build judges whether a step is cheap.

FLOPs count the matrix products only (2 per multiply-add): each Dense and
Conv2D layer's forward product, its weight gradient, and its input gradient
except for the first layer, whose input needs none. Activations, pooling and
the SGD update are a few percent of that for the bench's models.
"""

from __future__ import annotations


def flops_per_step(keras_model, batch: int) -> int:
    """Training FLOPs of one step of `keras_model` (Dense / Conv2D products) at `batch`."""
    total, first = 0, True
    for layer in keras_model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            macs = batch * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif kind == "Conv2D":
            out_h, out_w, cout = layer.output.shape[1:]
            kh, kw, cin, _ = layer.kernel.shape
            macs = batch * out_h * out_w * kh * kw * cin * cout
        else:
            continue
        products = 2 if first else 3  # forward, weight gradient (, input gradient)
        total += 2 * macs * products
        first = False
    return total
