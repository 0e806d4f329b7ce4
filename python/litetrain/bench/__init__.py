"""The benchmark suite: ``litetrain bench`` / ``python -m litetrain.bench``.

Times a training step of each benchmark model (:mod:`litetrain.bench.models`)
through every system of :mod:`litetrain.bench.systems` (the limit, a C++ loop
that only copies each batch in and runs; litetrain's ``Trainer.fit`` and C++
``Trainer::Fit``; the Python loops a user would otherwise write over LiteRT
and TensorFlow), by one protocol shared with the C++ bench
(``cpp/bench/step_timing.h``), and judges the run by ratios
measured in it (:mod:`litetrain.bench.gates`). Importing it imports neither
TensorFlow nor matplotlib.
"""
