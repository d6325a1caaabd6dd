"""``python -m footprint``: see :mod:`footprint.cli`."""

import sys

from .cli import main

sys.exit(main())
