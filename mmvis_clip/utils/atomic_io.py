"""Atomic, byte-reproducible file writing.

A file is first written to a temporary file in the destination folder and
then moved over the destination with :func:`os.replace`, so a reader never
sees a half-written file and an interrupted run leaves no partial output.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Any, Callable


def new_file_mode() -> int:
    """Mode of a newly created file: ``0o666`` minus the process umask.

    ``tempfile.mkstemp`` creates files readable by their owner only
    (``0o600``); the result is chmod-ed to what ``open(path, 'w')`` would
    have given, so that published checkpoints and results stay readable.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes_atomic(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders.

    Args:
        data (bytes): The file content.
        path (str): Destination file path.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(path) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp_path, new_file_mode())
        os.replace(tmp_path, path)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


def write_file_atomic(path: str, write: Callable[[str], None]) -> None:
    """Let ``write(tmp_path)`` produce a file, then move it to ``path``.

    For writers that need a path rather than bytes (e.g. ``zipfile``).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(path) + '.', suffix='.tmp')
    os.close(fd)
    try:
        write(tmp_path)
        os.chmod(tmp_path, new_file_mode())
        os.replace(tmp_path, path)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


def dumps_json_canonical(obj: Any) -> bytes:
    """Serialise ``obj`` to JSON bytes that depend only on its content.

    Keys are sorted and separators fixed, so equal objects give equal bytes.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(',', ':'),
        ensure_ascii=True).encode('ascii')


def dump_json_atomic(obj: Any, path: str) -> None:
    """Write ``obj`` as canonical JSON (see :func:`dumps_json_canonical`)
    to ``path`` atomically."""
    write_bytes_atomic(dumps_json_canonical(obj), path)
