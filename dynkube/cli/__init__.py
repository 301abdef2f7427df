"""The ``dynkube`` command line: explore and manage any cluster and any kind, kubectl-style.

Built only on the public ``dynkube`` API. ``main(argv)`` returns the exit code: 0 on success, 1 on an
API or user error, 2 on bad usage (see docs/cli.md).
"""

from .app import main

__all__ = ["main"]
