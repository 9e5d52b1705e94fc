"""`python -m mltop.tui.cli`: the same as `mltop`."""

import sys

from mltop.tui.cli import main

sys.exit(main())
