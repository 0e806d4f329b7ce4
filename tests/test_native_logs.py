"""Native start-up logging is dropped, everything else written to descriptor 2 passes (litetrain._native_logs)."""

from __future__ import annotations

import os

import pytest

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796410471.463857   27049 port.cc:153] oneDNN custom operations are on.\n",
    "W0000 00:00:1796409722.679544    7376 tf_tfl_flatbuffer_helpers.cc:367] Ignored output_format.\n",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
]
KEPT = [
    "E0000 00:00:1796409722.679544    7376 something.cc:1] a native error\n",
    "WARNING: a warning of litetrain's own\n",
    "Traceback-like text\n",
]


def test_filtered_drops_native_info_and_keeps_the_rest(capfd):
    from litetrain import _native_logs

    with _native_logs.filtered():
        for line in NOISE + KEPT:
            os.write(2, line.encode())
    assert capfd.readouterr().err == "".join(KEPT)


def test_filtered_passes_exceptions_and_restores_descriptor_2(capfd):
    from litetrain import _native_logs

    with pytest.raises(RuntimeError, match="inside"), _native_logs.filtered():
        os.write(2, NOISE[1].encode())
        raise RuntimeError("inside")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_info_log_level_keeps_every_line(capfd):
    import litetrain
    from litetrain import _native_logs

    before = litetrain.get_log_level()
    litetrain.set_log_level("info")
    try:
        with _native_logs.filtered():
            os.write(2, NOISE[1].encode())
    finally:
        litetrain.set_log_level(before)
    assert capfd.readouterr().err == NOISE[1]
