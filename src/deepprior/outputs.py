"""Where results go: every output is checked before any work starts, so that a long run never
ends in a failed write, and a result whose final write fails anyway is kept somewhere else.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> check_file(folder / "new" / "out.png", IMAGE)
PosixPath('.../new/out.png')
>>> check_file(folder / "out.pgm", IMAGE)
Traceback (most recent call last):
deepprior.errors.InputError: cannot write '.../out.pgm': unknown image format '.pgm' (use .png, ...)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import InputError, OutputExistsError
from .imageio import IMAGE_SUFFIXES, write_image

# Kinds of output: the suffixes each may have (empty: any name).
IMAGE = IMAGE_SUFFIXES
JSON = (".json",)
PNG = (".png",)
GIF = (".gif",)
ANY: tuple[str, ...] = ()


def _writable_ancestor(path: Path) -> None:
    """Raise InputError unless the nearest existing folder above ``path`` is a folder that we
    can create files in (tried with a real file: permission bits say nothing for root)."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot write '{path}': '{parent}' is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".deepprior-probe-"):
            pass
    except OSError as error:
        raise InputError(f"cannot write '{path}': {error.strerror or error} in '{parent}'") from None


def check_file(
    path: str | os.PathLike, suffixes: tuple[str, ...] = ANY, *, force: bool = False, exists_ok: bool = False
) -> Path:
    """Check that a file can be written at ``path`` before the work that makes it; return it.

    suffixes: the formats the output may have (e.g. ``IMAGE``); exists_ok: an existing file is
    an input too (a checkpoint to resume). Raises InputError for a folder, an unknown format or
    an unwritable place, OutputExistsError for an existing file without ``force``.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot write '{path}': it is a folder, not a file name")
    suffix = path.suffix.lower()
    if suffixes and suffix not in suffixes:
        kind = "image format" if suffixes is IMAGE else "format"
        raise InputError(
            f"cannot write '{path}': unknown {kind} '{suffix}' (use {', '.join(suffixes)})"
            if suffix
            else f"cannot write '{path}': no suffix to tell the format (use {', '.join(suffixes)})"
        )
    _writable_ancestor(path)
    if path.exists() and not (force or exists_ok):
        raise OutputExistsError(f"'{path}' exists; pass --force to overwrite it")
    return path


def check_folder(path: str | os.PathLike, *, force: bool = False, exists_ok: bool = False) -> Path:
    """Check that results can be written into the folder ``path``; return it.

    The folder may be absent or empty; one holding files needs ``force`` (or ``exists_ok``,
    e.g. a training folder to resume). Raises InputError for a file or an unwritable place,
    OutputExistsError for a non-empty folder without either.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"cannot write into '{path}': it is a file, not a folder")
    _writable_ancestor(path / "file")
    if path.is_dir() and any(path.iterdir()) and not (force or exists_ok):
        raise OutputExistsError(f"'{path}' is not empty; pass --force to write into it")
    return path


def save_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a finished result to ``path`` (atomically, replacing it); if that fails (a full disk,
    a permission changed during the run), save it as a TIFF beside it or in the temporary folder
    and raise OSError saying where it is."""
    path = Path(path)
    try:
        return write_image(path, image, overwrite=True)
    except OSError as error:
        reason = error.strerror or str(error)
        for fallback in (
            path.with_name(f"{path.stem}.partial.tif"),
            Path(tempfile.gettempdir()) / f"deepprior-{path.stem}-{os.getpid()}.tif",
        ):
            try:
                write_image(fallback, image, overwrite=False)
            except OSError:
                continue
            raise OSError(f"cannot write '{path}' ({reason}); the result was saved to '{fallback}'") from None
        raise OSError(
            f"cannot write '{path}' ({reason}), nor a copy beside it or in the temporary folder"
        ) from None
