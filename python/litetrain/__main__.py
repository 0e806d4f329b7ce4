"""``python -m litetrain``: the command line (see litetrain.cli)."""

import sys

from litetrain.cli import main

sys.exit(main())
