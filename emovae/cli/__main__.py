"""``python -m emovae.cli``: the ``emovae`` command."""

import sys

from . import main

sys.exit(main())
