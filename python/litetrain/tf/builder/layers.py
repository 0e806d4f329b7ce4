"""Keras layers as TensorFlow ops whose gradients are TFLite builtins.

Each supported layer class maps to a function ``apply(ctx, layer, *inputs)``
that computes the layer's output from `ctx`'s weight tensors. Where
TensorFlow's own gradient would need Flex (convolution filter gradients, max
pooling, depthwise convolution) or would dispatch more ops than needed (dense
layers), the function carries a `tf.custom_gradient` written in builtin ops.

Dense kernels are stored transposed ([units, inputs], the layout of TFLite's
FULLY_CONNECTED) so that forward and backward each take one op per product;
``save``/``restore`` present them in Keras' layout.
"""

from __future__ import annotations

import copy

import numpy as np
import tensorflow as tf

from litetrain.errors import BuildError
from litetrain.tf.builder import activations
from litetrain.tf.builder.concat import concat
from litetrain.tf.builder.pooled_convolution import first_maximum_gradients, pooled_one_hot_convolution

# Storage permutation of each weight kind that is not kept in Keras' layout.
DENSE_KERNEL_PERM = (1, 0)


def _name(layer) -> str:
    return f"layer {layer.name!r} ({type(layer).__name__})"


def _activation_name(activation) -> str:
    return activation if isinstance(activation, str) else getattr(activation, "__name__", repr(activation))


def _activation(layer, name):
    return activations.get(_activation_name(name), _name(layer))


def _check_channels_last(layer):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise BuildError(f"{_name(layer)}: data_format {layer.data_format!r}; only channels_last is supported")


def _padding(layer) -> str:
    padding = layer.padding.upper()
    if padding not in ("SAME", "VALID"):
        raise BuildError(f"{_name(layer)}: padding {layer.padding!r}; only 'same' and 'valid' are supported")
    return padding


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) along one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# --- Dense -------------------------------------------------------------------


def dense(ctx, layer, x):
    if x.shape.rank != 2:
        raise BuildError(f"{_name(layer)}: input of rank {x.shape.rank}; add a Flatten before it (rank 2 only)")
    kernel_t = ctx.weight(layer.kernel)  # [units, inputs]
    bias = ctx.weight(layer.bias) if layer.use_bias else None
    act = _activation(layer, layer.activation)

    @tf.custom_gradient
    def fully_connected(x, kernel_t, *bias_arg):
        # MatMul with a transposed rank-2 weight + bias converts to FULLY_CONNECTED
        # (+ ADD, fused afterwards by litetrain.tf.builder.fuse).
        y = tf.matmul(x, kernel_t, transpose_b=True)
        if bias_arg:
            y = y + bias_arg[0]

        def grad(dy):
            dx = tf.matmul(dy, kernel_t)
            dkernel_t = tf.matmul(dy, x, transpose_a=True)
            if bias_arg:
                return dx, dkernel_t, tf.reduce_sum(dy, axis=0)
            return dx, dkernel_t

        return y, grad

    y = fully_connected(x, kernel_t, bias) if bias is not None else fully_connected(x, kernel_t)
    return act(y)


# --- Convolutions --------------------------------------------------------------
#
# XNNPACK runs a CONV_2D or TRANSPOSE_CONV only with a constant filter; with a
# variable one, LiteRT's builtin kernels run it several times slower. A
# convolution that trains is therefore im2col + matrix products, which XNNPACK
# runs at its GEMM rate: y = patches . kernel^T (FULLY_CONNECTED, bias and
# activation fused), dkernel = dy^T . patches and dpatches = dy . kernel
# (BATCH_MATMUL), and dx puts each entry of dpatches back where the patch read
# it (col2im). Patches are gathered with operators XNNPACK takes: a CONV_2D
# with a constant one-hot filter for few input channels (its TRANSPOSE_CONV is
# then col2im), else stride-1 slices of the padded input concatenated along
# channels (after SPACE_TO_DEPTH for a stride), and col2im pads each slice
# back and sums them (for stride 1, dpatches comes as one product per row of
# taps, which col2im pads directly).

# Storage layout of a Conv2D kernel: [cout, kh, kw, cin], the rows of the
# FULLY_CONNECTED weights (one per output channel) over patches laid out (i, j, cin).
CONV_KERNEL_PERM = (3, 0, 1, 2)
# Patches of inputs with at most this many channels come from a one-hot
# convolution (kh*kw*cin multiply-adds per patch entry; slices of so few
# channels are slow copies in XNNPACK).
ONE_HOT_PATCH_CHANNELS = 2


class _PatchGeometry:
    """Where the patches of a convolution read its input [n, h, w, c].

    The input is padded (SAME: TensorFlow's pads; then up to a multiple of the
    stride s) and, for s > 1, folded by SPACE_TO_DEPTH(s), after which tap
    (i, j) is channel block (i % s, j % s) at spatial offset (i // s, j // s).
    """

    def __init__(self, x_shape, kernel_hw, strides, padding: str):
        self.n, self.h, self.w, self.c = x_shape
        self.kh, self.kw = kernel_hw
        if strides[0] != strides[1]:
            raise BuildError(f"strides {tuple(strides)}: a convolution that trains needs equal strides")
        self.s = s = strides[0]
        self.padding = padding
        if padding == "SAME":
            (self.top, bottom), (self.left, right) = _same_pads(self.h, self.kh, s), _same_pads(self.w, self.kw, s)
        else:
            self.top = bottom = self.left = right = 0
        reach_h, reach_w = self.h + self.top + bottom, self.w + self.left + right
        self.out_h, self.out_w = (reach_h - self.kh) // s + 1, (reach_w - self.kw) // s + 1
        # Padded to a multiple of s (and at least what the windows read).
        self.padded_h, self.padded_w = -(-reach_h // s) * s, -(-reach_w // s) * s
        self.rows = self.n * self.out_h * self.out_w
        self.depth = self.kh * self.kw * self.c

    def cropped(self, out_h: int, out_w: int) -> _PatchGeometry:
        """The geometry of the first out_h x out_w outputs only (not for one-hot patches,
        which a CONV_2D makes at their full size)."""
        crop = copy.copy(self)
        crop.out_h, crop.out_w = out_h, out_w
        crop.rows = self.n * out_h * out_w
        return crop

    def taps(self):
        return [(i, j) for i in range(self.kh) for j in range(self.kw)]

    def one_hot_filter(self) -> np.ndarray:
        """[kh, kw, c, depth]: output channel (i, j, ci) copies input channel ci at tap (i, j)."""
        f = np.zeros([self.kh, self.kw, self.c, self.depth], np.float32)
        for t, (i, j) in enumerate(self.taps()):
            for ci in range(self.c):
                f[i, j, ci, t * self.c + ci] = 1.0
        return f

    @property
    def one_hot(self) -> bool:
        """Whether the patches come from a CONV_2D with a one-hot filter."""
        return self.c <= ONE_HOT_PATCH_CHANNELS

    def patches(self, x):
        """[n, h, w, c] -> [rows, depth]."""
        if self.one_hot:
            p = tf.nn.conv2d(x, self.one_hot_filter(), strides=self.s, padding=self.padding)
            return tf.reshape(p, [self.rows, self.depth])
        n, c, s = self.n, self.c, self.s
        x = tf.pad(
            x,
            [
                [0, 0],
                [self.top, self.padded_h - self.h - self.top],
                [self.left, self.padded_w - self.w - self.left],
                [0, 0],
            ],
        )
        # Explicit sizes: XNNPACK takes no SLICE with a -1 size.
        if s == 1:
            # Two gathers of wider runs than one of every tap: the kw taps of
            # each input row, then kh rows of those.
            rows = concat(
                [tf.slice(x, [0, 0, j, 0], [n, self.padded_h, self.out_w, c]) for j in range(self.kw)], axis=3
            )
            size = [n, self.out_h, self.out_w, self.kw * c]
            patches = concat([tf.slice(rows, [0, i, 0, 0], size) for i in range(self.kh)], axis=3)
            return tf.reshape(patches, [self.rows, self.depth])
        x = tf.nn.space_to_depth(x, s)
        size = [n, self.out_h, self.out_w, c]
        slices = [tf.slice(x, [0, i // s, j // s, ((i % s) * s + j % s) * c], size) for i, j in self.taps()]
        return tf.reshape(concat(slices, axis=3), [self.rows, self.depth])

    def sliced(self, dpatches):
        """col2im's `block` for a dpatches tensor ([rows, depth]): slices of it."""
        d = tf.reshape(dpatches, [self.n, self.out_h, self.out_w, self.depth])

        def block(first: int, size: int):
            if size == self.depth:
                return d
            return tf.slice(d, [0, 0, 0, first], [self.n, self.out_h, self.out_w, size])

        return block

    def col2im(self, block):
        """The adjoint of patches(): dpatches -> [n, h, w, c], every entry added
        to the input element it was read from. `block(first, size)` gives the
        channels [first, first + size) of dpatches as [n, out_h, out_w, size]:
        a caller that computes dpatches as a product can compute each block as
        a product of its own (XNNPACK's SLICE of one product's output is a
        copy, and runs on one thread). Only the stride-1 gather asks for
        blocks narrower than the whole; the other forms take it all and slice
        it themselves, as measured fastest for them."""
        n, c, s = self.n, self.c, self.s
        if self.one_hot:
            return tf.nn.conv2d_transpose(
                block(0, self.depth), self.one_hot_filter(), [n, self.h, self.w, c], strides=s, padding=self.padding
            )
        if s == 1:
            # The adjoint of the two gathers of patches(), in reverse: the kh
            # row blocks padded back to their rows and summed, then the kw
            # taps of each row, on rows [n, h, w * c], where a shift along w
            # is a pad of whole channel groups.
            kwc = self.kw * c
            rows = None
            for i in range(self.kh):
                placed = tf.pad(block(i * kwc, kwc), [[0, 0], [i, self.padded_h - i - self.out_h], [0, 0], [0, 0]])
                rows = placed if rows is None else rows + placed
            wide = self.padded_w * c
            total = None
            for j in range(self.kw):
                tap = tf.reshape(
                    tf.slice(rows, [0, 0, 0, j * c], [n, self.padded_h, self.out_w, c]),
                    [n, self.padded_h, self.out_w * c],
                )
                placed = tf.pad(tap, [[0, 0], [0, 0], [j * c, wide - j * c - self.out_w * c]])
                total = placed if total is None else total + placed
            total = tf.reshape(total, [n, self.padded_h, self.padded_w, c])
            return tf.slice(total, [0, self.top, self.left, 0], [n, self.h, self.w, c])
        folded_h, folded_w = self.padded_h // s, self.padded_w // s
        tap_block = self.sliced(block(0, self.depth))
        total = None
        for t, (i, j) in enumerate(self.taps()):
            channel = ((i % s) * s + j % s) * c
            placed = tf.pad(
                tap_block(t * c, c),
                [
                    [0, 0],
                    [i // s, folded_h - i // s - self.out_h],
                    [j // s, folded_w - j // s - self.out_w],
                    [channel, s * s * c - channel - c],
                ],
            )
            total = placed if total is None else total + placed
        if s > 1:
            total = tf.nn.depth_to_space(total, s)
        return tf.slice(total, [0, self.top, self.left, 0], [n, self.h, self.w, c])


def _trainable_patches(layer, x, kernel_hw, strides, padding) -> _PatchGeometry:
    """The patch geometry of a convolution that trains; its batch must be fixed."""
    if x.shape[0] is None:
        raise BuildError(
            f"{_name(layer)}: a trainable convolution needs a fixed batch size (its gradients sum over the "
            "batch's patches): pass batch_size= to litetrain.build"
        )
    return _PatchGeometry(tuple(x.shape), kernel_hw, strides, padding)


def conv2d(ctx, layer, x):
    _check_conv(layer)
    padding = _padding(layer)
    strides = tuple(layer.strides)
    kernel = ctx.weight(layer.kernel)  # [cout, kh, kw, cin]
    act = _activation(layer, layer.activation)
    bias = ctx.weight(layer.bias) if layer.use_bias else None
    if not ctx.trains(layer):
        # A constant filter: XNNPACK's own convolution.
        y = tf.nn.conv2d(x, tf.transpose(kernel, (1, 2, 3, 0)), strides=list(strides), padding=padding)
        return act(y if bias is None else tf.nn.bias_add(y, bias))
    geometry = _trainable_patches(layer, x, tuple(layer.kernel_size), strides, padding)
    cout = kernel.shape[0]
    # On the [rows, cout] product, so that the bias and the activation fuse into it.
    y = _convolution(geometry, x, kernel)
    y = y if bias is None else y + bias
    out = tf.reshape(act(y), [geometry.n, geometry.out_h, geometry.out_w, cout])
    if _activation_name(layer.activation) in POOL_COMMUTING_ACTIVATIONS:

        def pool_first(pool_layer):
            """act(max_pool(conv(x) + bias)): the pool moves before the bias and the
            activation, and the convolution computes only the outputs the pool reads."""
            p = pool_layer.pool_size[0]
            if geometry.one_hot and geometry.s == 1:
                return act(pooled_one_hot_convolution(geometry, x, kernel, bias, p))
            reach_h, reach_w = geometry.out_h // p * p, geometry.out_w // p * p
            read, z = geometry, y
            if not geometry.one_hot and (reach_h, reach_w) != (geometry.out_h, geometry.out_w):
                read = geometry.cropped(reach_h, reach_w)
                z = _convolution(read, x, kernel)
                z = z if bias is None else z + bias
            return act(_max_pool(pool_layer, tf.reshape(z, [read.n, read.out_h, read.out_w, cout])))

        ctx.note_pool_first(out, pool_first)
    return out


def _convolution(geometry, x, kernel):
    """The convolution's outputs as [rows, cout], before the bias: patches . kernel^T."""
    cout = kernel.shape[0]

    @tf.custom_gradient
    def convolution(x, kernel):
        patches = geometry.patches(x)
        matrix = tf.reshape(kernel, [cout, geometry.depth])
        y = tf.matmul(patches, matrix, transpose_b=True)

        def grad(dy):
            dkernel = tf.reshape(tf.matmul(dy, patches, transpose_a=True), kernel.shape)
            # dpatches as products of rows [n, h, w, cout], in col2im's layout,
            # a product per block col2im asks for: cheaper than slices of one
            # product (the bench CNN's conv2 at batch 128: 3.49 -> 3.23 ms a
            # step at two threads, 2-5 % at one).
            rows = tf.reshape(dy, [geometry.n, geometry.out_h, geometry.out_w, cout])

            def dpatches(first: int, size: int):
                return tf.matmul(rows, matrix if size == geometry.depth else matrix[:, first : first + size])

            return geometry.col2im(dpatches), dkernel

        return y, grad

    return convolution(x, kernel)


# Activations a max pool commutes with, values and gradients alike: the first
# maximum of a window of act(z) is the first maximum of z wherever act's
# gradient is not 0 (for relu: where z > 0; below, every gradient is 0 either
# way). After the pool the activation and its gradient run on a quarter of
# the values (a 2x2 pool).
POOL_COMMUTING_ACTIVATIONS = ("relu", "linear")


def _check_conv(layer):
    _check_channels_last(layer)
    if tuple(layer.dilation_rate) != (1, 1):
        raise BuildError(f"{_name(layer)}: dilation_rate {layer.dilation_rate}; only 1 is supported in training graphs")
    if getattr(layer, "groups", 1) != 1:
        raise BuildError(f"{_name(layer)}: groups={layer.groups}; grouped convolutions are not supported")


def depthwise_conv2d(ctx, layer, x):
    """Depthwise convolution; when it trains, as patches times the kernel, elementwise.

    XNNPACK takes no DEPTHWISE_CONV_2D with a variable filter. With the
    patches [rows, taps, cin] of the input (as a Conv2D that trains gathers
    them), y = sum over taps of patches * kernel, dkernel = sum over rows of
    patches * dy, dpatches = dy * kernel summed over the multiplier, then
    col2im: multiplications and sums XNNPACK runs.
    """
    _check_conv(layer)
    padding = _padding(layer)
    strides = tuple(layer.strides)
    kernel = ctx.weight(layer.kernel)  # [kh, kw, cin, m]
    kh, kw, cin, mult = kernel.shape
    act = _activation(layer, layer.activation)
    bias = ctx.weight(layer.bias) if layer.use_bias else None
    if not ctx.trains(layer):
        y = tf.nn.depthwise_conv2d(x, kernel, strides=[1, *strides, 1], padding=padding)
        return act(y if bias is None else tf.nn.bias_add(y, bias))
    geometry = _trainable_patches(layer, x, (kh, kw), strides, padding)
    rows, taps = geometry.rows, kh * kw

    @tf.custom_gradient
    def depthwise(x, kernel):
        patches = tf.reshape(geometry.patches(x), [rows, taps, cin, 1])
        per_tap = tf.reshape(kernel, [1, taps, cin, mult])
        y = tf.reduce_sum(patches * per_tap, axis=1)  # [rows, cin, mult]: channel c * mult + m, as TensorFlow's

        def grad(dy):
            dy = tf.reshape(dy, [rows, 1, cin, mult])
            dkernel = tf.reshape(tf.reduce_sum(patches * dy, axis=0), [kh, kw, cin, mult])
            dpatches = tf.reduce_sum(dy * per_tap, axis=3)
            return geometry.col2im(geometry.sliced(tf.reshape(dpatches, [rows, taps * cin]))), dkernel

        return tf.reshape(y, [geometry.n, geometry.out_h, geometry.out_w, cin * mult]), grad

    y = depthwise(x, kernel)
    return act(y if bias is None else tf.nn.bias_add(y, bias))


# --- Pooling -------------------------------------------------------------------


def _pool_geometry(layer, x):
    """(p, padding) of a square pool whose windows tile the input; BuildError otherwise."""
    _check_channels_last(layer)
    pool = tuple(layer.pool_size)
    strides = tuple(layer.strides) if layer.strides is not None else pool
    padding = _padding(layer)
    return pool, strides, padding


def _tiles_input(pool, strides, padding, x) -> bool:
    h, w = x.shape[1], x.shape[2]
    if pool != strides or pool[0] != pool[1]:
        return False
    return padding == "VALID" or (h % pool[0] == 0 and w % pool[1] == 0)


def _refuse_pool_grad(layer, pool, strides, padding):
    raise BuildError(
        f"{_name(layer)}: the gradient of pool_size={pool}, strides={strides}, padding={padding.lower()!r} "
        "has no TFLite builtin form here; trainable layers before a pooling layer need square windows "
        "with strides == pool_size (and 'valid' padding or sizes divisible by it). Freeze the layers "
        "before it, or change the pooling."
    )


def _pad_back(dx, x):
    """Zero rows/columns for input pixels that VALID pooling never reads."""
    extra_h = x.shape[1] - dx.shape[1]
    extra_w = x.shape[2] - dx.shape[2]
    if extra_h or extra_w:
        dx = tf.pad(dx, [[0, 0], [0, extra_h], [0, extra_w], [0, 0]])
    return dx


def _max_pool_grad(x, y, dy, p: int):
    """TensorFlow's MaxPoolGrad: the windows of x moved position-major (one
    TRANSPOSE each way) for first_maximum_gradients."""
    n, h, w, c = dy.shape
    n = -1 if n is None else n  # a dynamic batch runs too, partly outside XNNPACK
    if x.shape[1] != h * p or x.shape[2] != w * p:
        x = x[:, : h * p, : w * p, :]  # rows and columns a VALID pool never reads
    # Rank 5 at most (batch and rows merged): the converter folds these reshapes
    # into a following product, and TFLite's BATCH_MATMUL takes no rank 6.
    windows = tf.reshape(x, [-1, p, w, p, c])
    windows = tf.reshape(tf.transpose(windows, (1, 3, 0, 2, 4)), [p * p, n, h, w, c])
    positions = [tf.reshape(tf.slice(windows, [k, 0, 0, 0, 0], [1, n, h, w, c]), [n, h, w, c]) for k in range(p * p)]
    spread = tf.reshape(concat(first_maximum_gradients(positions, y, dy), axis=0), [p, p, -1, w, c])
    return tf.reshape(tf.transpose(spread, (2, 0, 3, 1, 4)), [n, h * p, w * p, c])


def max_pooling2d(ctx, layer, x):
    """Max pooling; of a convolution's output, pooled by the convolution
    itself where that is faster (conv2d's pool_first)."""
    pool, strides, padding = _pool_geometry(layer, x)
    pool_first = ctx.pool_first(x)
    if pool_first is not None and _tiles_input(pool, strides, padding, x):
        return pool_first(layer)
    return _max_pool(layer, x)


def _max_pool(layer, x):
    pool, strides, padding = _pool_geometry(layer, x)

    @tf.custom_gradient
    def max_pool(x):
        y = tf.nn.max_pool2d(x, pool, strides, padding)

        def grad(dy):
            if not _tiles_input(pool, strides, padding, x):
                _refuse_pool_grad(layer, pool, strides, padding)
            return _pad_back(_max_pool_grad(x, y, dy, pool[0]), x)

        return y, grad

    return max_pool(x)


def average_pooling2d(ctx, layer, x):
    pool, strides, padding = _pool_geometry(layer, x)

    @tf.custom_gradient
    def avg_pool(x):
        y = tf.nn.avg_pool2d(x, pool, strides, padding)

        def grad(dy):
            if not _tiles_input(pool, strides, padding, x):
                _refuse_pool_grad(layer, pool, strides, padding)
            p = pool[0]
            share = dy * (1.0 / (p * p))
            # Copies by concatenation: XNNPACK has no TILE.
            return _pad_back(tf.nn.depth_to_space(concat([share] * (p * p), axis=3), p), x)

        return y, grad

    return avg_pool(x)


def global_average_pooling2d(ctx, layer, x):
    _check_channels_last(layer)
    keepdims = bool(getattr(layer, "keepdims", False))
    h, w = x.shape[1], x.shape[2]
    if h is None or w is None:
        return tf.reduce_mean(x, axis=[1, 2], keepdims=keepdims)

    @tf.custom_gradient
    def mean(x):
        def grad(dy):
            # dy over every pixel: a broadcasting MUL (TensorFlow's gradient tiles, which XNNPACK cannot).
            dy = dy if keepdims else dy[:, None, None, :]
            return dy * np.full([1, h, w, 1], 1.0 / (h * w), np.float32)

        return tf.reduce_mean(x, axis=[1, 2], keepdims=keepdims), grad

    return mean(x)


# --- Shape, regularisation, normalisation, activations ---------------------------


def flatten(ctx, layer, x):
    size = 1
    for d in x.shape[1:]:
        size *= d
    return tf.reshape(x, [-1, size])


def reshape(ctx, layer, x):
    return tf.reshape(x, [-1, *layer.target_shape])


def dropout(ctx, layer, x):
    if not ctx.training or layer.rate == 0:
        return x
    if layer.noise_shape is not None:
        raise BuildError(f"{_name(layer)}: noise_shape is not supported")
    keep = tf.cast(tf.random.uniform(tf.shape(x), seed=ctx.next_seed()) >= layer.rate, x.dtype)
    return x * keep * (1.0 / (1.0 - layer.rate))


def _rsqrt():
    @tf.custom_gradient
    def rsqrt(v):
        y = tf.math.rsqrt(v)

        def grad(dy):  # TensorFlow's RsqrtGrad is no builtin
            return dy * (-0.5 * y * y * y)

        return y, grad

    return rsqrt


def _batch_normalized(x, mean, variance, gamma, beta, epsilon: float):
    """x normalised with the batch's own statistics, as Keras computes it, with the
    whole gradient written out (through the statistics too): TensorFlow's own
    would broadcast the statistics' gradients back with TILE, which XNNPACK lacks.

    dx = gamma * rstd / m * (m * dy - sum(dy) - x_hat * sum(dy * x_hat)),
    dgamma = sum(dy * x_hat), dbeta = sum(dy), sums over all but the channel axis.
    """
    axes = list(range(x.shape.rank - 1))
    weights = [w for w in (gamma, beta) if w is not None]

    @tf.custom_gradient
    def normalize(x, *weights):
        rstd = tf.math.rsqrt(variance + epsilon)
        inv = rstd * gamma if gamma is not None else rstd
        shift = -mean * inv if beta is None else beta - mean * inv
        y = x * inv + shift

        def grad(dy):
            count = float(np.prod([x.shape[a] for a in axes]))
            x_hat = (x - mean) * rstd
            dbeta = tf.reduce_sum(dy, axis=axes)
            dgamma = tf.reduce_sum(dy * x_hat, axis=axes)
            dx = (inv * (1.0 / count)) * (count * dy - dbeta - x_hat * dgamma)
            return (dx, *([dgamma] if gamma is not None else []), *([dbeta] if beta is not None else []))

        return y, grad

    return normalize(x, *weights)


def batch_normalization(ctx, layer, x):
    """BatchNormalization over the last axis.

    By default with the layer's moving statistics (Keras' training=False, the
    usual choice when fine-tuning): gamma and beta train when the layer
    trains, the statistics are constants. With ``build(...,
    batch_statistics=True)`` a training layer normalises with the batch's
    mean and variance in ``train`` and updates its moving statistics, as
    Keras does with training=True.
    """
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    if axis not in (-1, x.shape.rank - 1):
        raise BuildError(f"{_name(layer)}: axis={layer.axis}; only the last (channel) axis is supported")
    if getattr(layer, "renorm", False):
        raise BuildError(f"{_name(layer)}: renorm=True is not supported")
    if ctx.updates_state(layer.moving_mean):
        axes = list(range(x.shape.rank - 1))
        mean = tf.reduce_mean(x, axis=axes)
        variance = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=axes)
        momentum = layer.momentum
        ctx.assign_state(layer.moving_mean, ctx.weight(layer.moving_mean) * momentum + mean * (1.0 - momentum))
        ctx.assign_state(
            layer.moving_variance, ctx.weight(layer.moving_variance) * momentum + variance * (1.0 - momentum)
        )
        if x.shape.is_fully_defined():
            gamma = ctx.weight(layer.gamma) if layer.scale else None
            beta = ctx.weight(layer.beta) if layer.center else None
            return _batch_normalized(x, tf.stop_gradient(mean), tf.stop_gradient(variance), gamma, beta, layer.epsilon)
        # A dynamic batch: TensorFlow's own gradient (partly outside XNNPACK).
        variance = tf.reduce_mean(tf.math.squared_difference(x, tf.stop_gradient(mean)), axis=axes)
    else:
        mean, variance = ctx.weight(layer.moving_mean), ctx.weight(layer.moving_variance)
    inv = _rsqrt()(variance + layer.epsilon)
    if layer.scale:
        inv = inv * ctx.weight(layer.gamma)
    shift = -mean * inv
    if layer.center:
        shift = shift + ctx.weight(layer.beta)
    return x * inv + shift


def activation_layer(ctx, layer, x):
    return _activation(layer, layer.activation)(x)


def relu_layer(ctx, layer, x):
    slope = float(layer.negative_slope)
    if layer.threshold != 0:
        raise BuildError(f"{_name(layer)}: threshold={layer.threshold}; only 0 is supported")
    if layer.max_value is not None:
        if float(layer.max_value) != 6.0 or slope:
            raise BuildError(f"{_name(layer)}: max_value={layer.max_value}; only None or 6 (relu6) is supported")
        return activations.get("relu6", _name(layer))(x)
    if slope:
        return activations.get("leaky_relu", _name(layer), negative_slope=slope)(x)
    return activations.get("relu", _name(layer))(x)


def leaky_relu_layer(ctx, layer, x):
    return activations.get("leaky_relu", _name(layer), negative_slope=float(layer.negative_slope))(x)


def softmax_layer(ctx, layer, x):
    if layer.axis not in (-1, x.shape.rank - 1):
        raise BuildError(f"{_name(layer)}: axis={layer.axis}; only the last axis is supported")
    return activations.get("softmax", _name(layer))(x)


def add_layer(ctx, layer, *inputs):
    inputs = inputs[0] if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) else inputs
    total = inputs[0]
    for t in inputs[1:]:
        total = total + t
    return total


def concatenate_layer(ctx, layer, *inputs):
    inputs = inputs[0] if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) else inputs
    return tf.concat(list(inputs), axis=layer.axis)


# Keras class name -> implementation.
IMPLEMENTATIONS = {
    "Dense": dense,
    "Conv2D": conv2d,
    "DepthwiseConv2D": depthwise_conv2d,
    "MaxPooling2D": max_pooling2d,
    "AveragePooling2D": average_pooling2d,
    "GlobalAveragePooling2D": global_average_pooling2d,
    "Flatten": flatten,
    "Reshape": reshape,
    "Dropout": dropout,
    "BatchNormalization": batch_normalization,
    "Activation": activation_layer,
    "ReLU": relu_layer,
    "LeakyReLU": leaky_relu_layer,
    "Softmax": softmax_layer,
    "Add": add_layer,
    "Concatenate": concatenate_layer,
}

# Weights stored in another layout than Keras': (class name, attribute) -> permutation.
STORAGE_PERMUTATIONS = {("Dense", "kernel"): DENSE_KERNEL_PERM, ("Conv2D", "kernel"): CONV_KERNEL_PERM}


def unsupported(layer) -> BuildError:
    """The error for a layer that trains but has no formulation here."""
    return BuildError(
        f"{_name(layer)} cannot train: litetrain has no builtin-only gradient for it. Freeze it (leave it out "
        f"of trainable=): frozen layers of any kind run through Keras' own call. Layers that can train: "
        f"{', '.join(sorted(IMPLEMENTATIONS))}"
    )


def storage_permutation(layer, variable):
    """The permutation from Keras' layout to the stored one, or None."""
    for attr in ("kernel",):
        if getattr(layer, attr, None) is variable:
            return STORAGE_PERMUTATIONS.get((type(layer).__name__, attr))
    return None
