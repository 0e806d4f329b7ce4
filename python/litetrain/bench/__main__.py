"""``python -m litetrain.bench``: the benchmark suite (see litetrain.cli.bench)."""

import sys

from litetrain.cli.bench import main

sys.exit(main())
