"""The ``deepprior`` command's entry point: Ctrl-C stops it from the first moment, imports and
model set-up included, with one line and exit code 130 (``deepprior.cli`` does the rest)."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted(message: str | None = "deepprior: interrupted") -> None:
    if message:
        print(message, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # Not a normal exit: CPython 3.11 may remember a KeyboardInterrupt that crossed a nested
    # PyRun call of an extension's import and kill itself with SIGINT at exit (code -2).
    os._exit(130)


def main() -> int:
    # Also when started with SIGINT ignored (a background job of a script): Ctrl-C or kill -INT
    # then still stops the run cleanly instead of being ignored until the fitting loop starts.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        from .cli import main as run

        code = run()
    except KeyboardInterrupt:
        _interrupted()
    except RuntimeError as error:  # Ctrl-C in a class body's __set_name__ during a lazy import
        if isinstance(error.__cause__, KeyboardInterrupt):
            _interrupted()
        raise
    if code == 130:  # the command said what it kept and how to resume
        _interrupted(None)
    return code
