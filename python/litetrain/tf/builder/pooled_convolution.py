"""Max pooling of a convolution's output, and its gradient, without moving
the output around.

A p x p max pool (stride p) needs each window's p*p values side by side: its
gradient compares every position of a window with the window's maximum.
Taken from the convolution's output [n, h, w, c], that is a TRANSPOSE each
way, the largest copies of a small CNN's step. For a convolution whose
patches come from a one-hot CONV_2D (few input channels), the patches can be
made in that order instead: window position (i, j) of every window is a
stride-p convolution of the padded input shifted by (i, j), so the p*p
shifted inputs stacked along the batch give, in one CONV_2D, patches whose
rows run position-major. The product with the kernel is then the convolution
output as [p*p, n, h/p, w/p, c], the pool is a REDUCE_MAX over the first
axis, and the gradient needs no transposes at all.
"""

from __future__ import annotations

import tensorflow as tf

from litetrain.tf.builder.concat import concat


def first_maximum_gradients(windows, y, dy):
    """TensorFlow's MaxPoolGrad on windows laid out position-major,
    [p*p, n, h, w, c] (positions row-major): dy sent to the first maximum of
    each window, 0 elsewhere, in operators XNNPACK takes (no ARG_MAX /
    ONE_HOT). Comparing with the maxima y and gating by position broadcast
    over the outermost axis, which XNNPACK does at full speed.

    below[k] = ceil(min(y - x_k, 1)) is 1 where position k is below the
    maximum (exact for any finite difference); position k gets dy where it is
    a maximum and every earlier position is below it.
    """
    k, n, h, w, c = windows.shape
    n = -1 if n is None else n  # a dynamic batch runs too, partly outside XNNPACK
    below = tf.math.ceil(tf.minimum(tf.reshape(y, [1, n, h, w, c]) - windows, 1.0))
    gated = [tf.reshape(dy, [1, n, h, w, c])]  # dy times "every earlier position is below the maximum"
    for position in range(k - 1):
        gated.append(gated[-1] * tf.slice(below, [position, 0, 0, 0, 0], [1, n, h, w, c]))
    return concat(gated, axis=0) * (1.0 - below)


def pooled_one_hot_convolution(geometry, x, kernel, p: int):
    """max_pool(conv(x, kernel), p x p, stride p), no bias, for a stride-1
    convolution whose patches come from a one-hot CONV_2D (`geometry`: its
    _PatchGeometry). Windows the pool does not reach (a VALID pool of an
    odd size) are not computed."""
    g = geometry
    n, c, cout = g.n, g.c, kernel.shape[0]
    out_h, out_w = g.out_h // p, g.out_w // p
    # The input rows and columns the windows at one position read.
    crop_h, crop_w = p * (out_h - 1) + g.kh, p * (out_w - 1) + g.kw
    positions = [(i, j) for i in range(p) for j in range(p)]
    bottom, right = g.padded_h - g.h - g.top, g.padded_w - g.w - g.left
    rows = p * p * n * out_h * out_w
    one_hot = g.one_hot_filter()

    @tf.custom_gradient
    def pooled_convolution(x, kernel):
        padded = tf.pad(x, [[0, 0], [g.top, bottom], [g.left, right], [0, 0]])
        shifted = concat([tf.slice(padded, [0, i, j, 0], [n, crop_h, crop_w, c]) for i, j in positions], axis=0)
        patches = tf.reshape(tf.nn.conv2d(shifted, one_hot, strides=p, padding="VALID"), [rows, g.depth])
        matrix = tf.reshape(kernel, [cout, g.depth])
        windows = tf.reshape(tf.matmul(patches, matrix, transpose_b=True), [p * p, n, out_h, out_w, cout])
        y = tf.reduce_max(windows, axis=0)

        def grad(dy):
            dout = tf.reshape(first_maximum_gradients(windows, y, dy), [rows, cout])
            dkernel = tf.reshape(tf.matmul(dout, patches, transpose_a=True), kernel.shape)
            dpatches = tf.reshape(tf.matmul(dout, matrix), [p * p * n, out_h, out_w, g.depth])
            dshifted = tf.nn.conv2d_transpose(dpatches, one_hot, [p * p * n, crop_h, crop_w, c], p, "VALID")
            dpadded = None
            for k, (i, j) in enumerate(positions):
                block = tf.slice(dshifted, [k * n, 0, 0, 0], [n, crop_h, crop_w, c])
                placed = tf.pad(block, [[0, 0], [i, g.padded_h - i - crop_h], [j, g.padded_w - j - crop_w], [0, 0]])
                dpadded = placed if dpadded is None else dpadded + placed
            return tf.slice(dpadded, [0, g.top, g.left, 0], [n, g.h, g.w, c]), dkernel

        return y, grad

    return pooled_convolution(x, kernel)
