"""The ``deepprior`` command's entry point: Ctrl-C stops it from the first moment, imports and
model set-up included, with one line and exit code 130 (``deepprior.cli`` does the rest)."""

from __future__ import annotations

import signal
import sys


def main() -> int:
    # Also when started with SIGINT ignored (a background job of a script): Ctrl-C or kill -INT
    # then still stops the run cleanly instead of being ignored until the fitting loop starts.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("deepprior: interrupted", file=sys.stderr)
        return 130
    return run()
