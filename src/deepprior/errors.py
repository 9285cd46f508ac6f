"""Errors that deepprior raises for bad input; the CLI turns each into one line and exit code 2."""

from __future__ import annotations


class DeepPriorError(Exception):
    """Base of every error caused by the user's input, not by a bug."""


class InputError(DeepPriorError, ValueError):
    """An argument or an image that cannot be used (wrong size, NaN values, bad factor...)."""


class ImageReadError(DeepPriorError, OSError):
    """A file that is missing, unreadable, truncated or not an image."""


class OutputExistsError(DeepPriorError, FileExistsError):
    """An output file exists and overwriting was not asked for."""


class ImageTooLargeError(DeepPriorError, ValueError):
    """The estimated memory of a run exceeds what the device has."""
