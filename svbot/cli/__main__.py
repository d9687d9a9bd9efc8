"""`python -m svbot.cli`: the same command as `svbot`."""

import sys

from svbot.cli import main

sys.exit(main())
