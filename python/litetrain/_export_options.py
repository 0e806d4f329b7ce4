"""What :func:`litetrain.export` offers, importable without TensorFlow (the CLI's choices)."""

# None: float32; "dynamic": int8 weights, float activations; "float16": float16
# weights; "int8": full integer (needs representative data).
QUANTIZATIONS = (None, "dynamic", "float16", "int8")
