"""``python -m dynkube.cli``: the same as the ``dynkube`` command."""

import sys

from .app import main

sys.exit(main())
