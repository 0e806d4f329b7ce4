"""tf.concat in the form XNNPACK takes."""

from __future__ import annotations

import tensorflow as tf

# The most inputs of one CONCATENATION that XNNPACK (in ai-edge-litert 2.3) takes.
XNNPACK_CONCAT_INPUTS = 5


def concat(tensors: list, axis: int):
    """tf.concat as a tree of CONCATENATIONs XNNPACK takes."""
    while len(tensors) > XNNPACK_CONCAT_INPUTS:
        groups = -(-len(tensors) // XNNPACK_CONCAT_INPUTS)
        size = -(-len(tensors) // groups)
        tensors = [
            tensors[i] if len(tensors[i : i + size]) == 1 else tf.concat(tensors[i : i + size], axis)
            for i in range(0, len(tensors), size)
        ]
    return tensors[0] if len(tensors) == 1 else tf.concat(tensors, axis)
