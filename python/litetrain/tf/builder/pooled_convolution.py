"""Max pooling of a convolution's output, and its gradient, without moving
the output around.

A p x p max pool (stride p) needs each window's p*p values side by side: its
gradient compares every position of a window with the window's maximum.
Taken from the convolution's output [n, h, w, c], that is a TRANSPOSE each
way, the largest copies of a small CNN's step. For a convolution whose
patches come from a one-hot CONV_2D (few input channels), the patches can be
made one window position at a time instead: position (i, j) of every window
is a stride-p convolution of the padded input shifted by (i, j). Each
position's product with the kernel is then that position's values of every
window, the pool is an elementwise MAXIMUM of them, and the gradient needs
no TRANSPOSE and no copy of the windows.
"""

from __future__ import annotations

import tensorflow as tf


def first_maximum_gradients(windows: list, y, dy) -> list:
    """TensorFlow's MaxPoolGrad, per window position: `windows` holds each
    position's values (positions row-major), y their maximum; dy goes to the
    first maximum of each window, 0 to the others. In operators XNNPACK takes
    (no ARG_MAX / ONE_HOT / SIGN).

    below[k] = ceil(min(y - x_k, 1)) is 1 where position k is below the
    maximum, else 0 (exact for any finite difference). gated[k] is dy where
    every position before k is below the maximum, so position k's gradient,
    gated[k] where x_k is the maximum, is gated[k] - gated[k + 1].
    """
    gated = [dy]
    for window in windows:
        gated.append(gated[-1] * tf.math.ceil(tf.minimum(y - window, 1.0)))
    return [gated[k] - gated[k + 1] for k in range(len(windows))]


def pooled_one_hot_convolution(geometry, x, kernel, bias, p: int):
    """max_pool(conv(x, kernel) + bias, p x p, stride p) (bias may be None),
    for a stride-1 convolution whose patches come from a one-hot CONV_2D
    (`geometry`: its _PatchGeometry). Windows the pool does not reach (a VALID
    pool of an odd size) are not computed. The bias is added in each
    position's product (FULLY_CONNECTED adds it for free), not to the pooled
    values: the maxima are the same."""
    g = geometry
    n, c, cout = g.n, g.c, kernel.shape[0]
    out_h, out_w = g.out_h // p, g.out_w // p
    # The input rows and columns the windows at one position read.
    crop_h, crop_w = p * (out_h - 1) + g.kh, p * (out_w - 1) + g.kw
    positions = [(i, j) for i in range(p) for j in range(p)]
    bottom, right = g.padded_h - g.h - g.top, g.padded_w - g.w - g.left
    rows = n * out_h * out_w
    one_hot = g.one_hot_filter()

    @tf.custom_gradient
    def pooled_convolution(x, kernel, *bias_arg):
        padded = tf.pad(x, [[0, 0], [g.top, bottom], [g.left, right], [0, 0]])
        matrix = tf.reshape(kernel, [cout, g.depth])
        patches, windows = [], []
        for i, j in positions:
            shifted = tf.slice(padded, [0, i, j, 0], [n, crop_h, crop_w, c])
            patches.append(tf.reshape(tf.nn.conv2d(shifted, one_hot, strides=p, padding="VALID"), [rows, g.depth]))
            product = tf.matmul(patches[-1], matrix, transpose_b=True)
            product = product + bias_arg[0] if bias_arg else product
            windows.append(tf.reshape(product, [n, out_h, out_w, cout]))
        y = windows[0]
        for window in windows[1:]:
            y = tf.maximum(y, window)

        def grad(dy):
            douts = [tf.reshape(d, [rows, cout]) for d in first_maximum_gradients(windows, y, dy)]
            dkernel = tf.add_n([tf.matmul(d, s, transpose_a=True) for d, s in zip(douts, patches)])
            dpadded = None
            for dout, (i, j) in zip(douts, positions):
                dpatches = tf.reshape(tf.matmul(dout, matrix), [n, out_h, out_w, g.depth])
                dshifted = tf.nn.conv2d_transpose(dpatches, one_hot, [n, crop_h, crop_w, c], p, "VALID")
                placed = tf.pad(dshifted, [[0, 0], [i, g.padded_h - i - crop_h], [j, g.padded_w - j - crop_w], [0, 0]])
                dpadded = placed if dpadded is None else dpadded + placed
            dx = tf.slice(dpadded, [0, g.top, g.left, 0], [n, g.h, g.w, c])
            # Each window's dy goes to one position: the bias gets dy's sum.
            dbias = [tf.reduce_sum(dy, axis=[0, 1, 2])] if bias_arg else []
            return (dx, tf.reshape(dkernel, kernel.shape), *dbias)

        return y, grad

    return pooled_convolution(x, kernel) if bias is None else pooled_convolution(x, kernel, bias)
