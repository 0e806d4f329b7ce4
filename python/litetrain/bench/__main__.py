"""``python -m litetrain.bench``: the benchmark suite (see litetrain.bench.cli)."""

import sys

from litetrain.bench.cli import main

sys.exit(main())
