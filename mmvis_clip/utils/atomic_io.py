"""Atomic, byte-reproducible file writing: a temporary
``.<name>.<8 random characters>.tmp`` in the destination folder, then
:func:`os.replace`. An ``OSError`` names the destination, not the temporary.
"""
import json
import os
import os.path as osp
import re
import tempfile
from typing import (Any, Callable, Dict, Iterable, List, Optional, Sequence,
                    Tuple, Union)

from .user_errors import UserError, os_errors_name

PathLike = Union[str, os.PathLike]


def new_file_mode() -> int:
    """Mode of a newly created file (as ``open(path, 'w')`` gives it,
    not ``mkstemp``'s ``0o600``): ``0o666`` minus the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _check_destination(path: str) -> str:
    """Create the parent folders of ``path`` (not a folder itself) and
    return its folder."""
    if osp.isdir(path):
        raise IsADirectoryError(f'{path} is a folder; expected the path of '
                                'a file to write')
    folder = osp.dirname(osp.abspath(path))
    blocking = _file_in_the_way(path)
    if blocking is not None:
        raise NotADirectoryError(f'{path}: cannot be written, {blocking} is '
                                 'a file, not a folder')
    os.makedirs(folder, exist_ok=True)
    return folder


def _file_in_the_way(path: str) -> Optional[str]:
    """The existing file (not folder) among the parents of ``path`` that
    stops its folder from being created, if any."""
    ancestor = osp.dirname(osp.abspath(path))
    while not osp.exists(ancestor):
        ancestor = osp.dirname(ancestor)
    return None if osp.isdir(ancestor) else ancestor


def _temporary_for(path: str, folder: str) -> str:
    """A new, closed temporary file next to ``path``."""
    fd, tmp_path = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(path) + '.', suffix='.tmp')
    os.close(fd)
    return tmp_path


def _remove_quietly(path: Optional[str]) -> None:
    if path is not None and osp.lexists(path):
        os.remove(path)


def write_bytes_atomic(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders.

    Args:
        data (bytes): The file content.
        path (str): Destination file path.
    """

    def write(tmp_path):
        with open(tmp_path, 'wb') as f:
            f.write(data)

    write_file_atomic(path, write)


def write_file_atomic(path: str, write: Callable[[str], None]) -> None:
    """Let ``write(tmp_path)`` produce a file, then move it to ``path``.

    Args:
        path (str): Destination file path; parent folders are created.
        write (Callable[[str], None]): Writes the temporary path given.
    """
    folder = _check_destination(os.fspath(path))
    with os_errors_name(path):
        tmp_path = _temporary_for(path, folder)
    try:
        with os_errors_name(path, tmp_path):
            write(tmp_path)
            os.chmod(tmp_path, new_file_mode())
            os.replace(tmp_path, path)
    except BaseException:
        _remove_quietly(tmp_path)
        raise


def stale_temporaries(path: PathLike) -> List[str]:
    """Temporaries of ``path`` left by an interrupted atomic write: the
    files ``.<name>.<8 characters>.tmp`` next to it, sorted."""
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    pattern = re.compile(
        r'\.' + re.escape(osp.basename(path)) + r'\.[A-Za-z0-9_]{8}\.tmp')
    if not osp.isdir(folder):
        return []
    return sorted(
        osp.join(folder, name) for name in os.listdir(folder)
        if pattern.fullmatch(name) and osp.isfile(osp.join(folder, name)))


def remove_stale_temporaries(path: PathLike) -> List[str]:
    """Delete the :func:`stale_temporaries` of ``path`` (so not for two
    processes writing one file at a time).

    Returns:
        list[str]: The deleted files.
    """
    removed = stale_temporaries(path)
    for tmp_path in removed:
        _remove_quietly(tmp_path)
    return removed


def publish_files_atomic(
        files: Sequence[Tuple[PathLike, Callable[[str], None]]]) -> None:
    """Write files that belong together (``results.json`` and its
    ``submission.zip``) so that those present always come from one call.

    All are written to temporaries; then the previous versions of all but
    the first are deleted and the temporaries renamed, first file first.
    Stale temporaries of interrupted calls are deleted first.

    Args:
        files (Sequence[tuple[str, Callable[[str], None]]]): Destination
            paths (distinct) and the function writing each to a temporary
            path. Parent folders are created.
    """
    paths = [os.fspath(path) for path, _ in files]
    real = [osp.realpath(path) for path in paths]
    assert len(set(real)) == len(real), f'duplicate destinations {paths}'
    folders = [_check_destination(path) for path in paths]
    for path in paths:
        remove_stale_temporaries(path)
    tmp_paths: Dict[str, str] = {}
    try:
        for (path, write), folder in zip(files, folders):
            with os_errors_name(path, tmp_paths.get(path)):
                tmp_paths[path] = _temporary_for(path, folder)
            with os_errors_name(path, tmp_paths[path]):
                write(tmp_paths[path])
                os.chmod(tmp_paths[path], new_file_mode())
        for path in paths[1:]:
            _remove_quietly(path)
        for path in paths:
            with os_errors_name(path, tmp_paths[path]):
                os.replace(tmp_paths[path], path)
            del tmp_paths[path]
    except BaseException:
        for tmp_path in tmp_paths.values():
            _remove_quietly(tmp_path)
        raise


def _file_identity(path: str) -> Optional[Tuple[int, int]]:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def refuse_overwriting_inputs(outputs: Dict[str, Optional[PathLike]],
                              inputs: Iterable[Tuple[str, PathLike]],
                              folders: Iterable[Tuple[str,
                                                      PathLike]] = ()) -> None:
    """Refuse output paths that would overwrite what the run reads: an
    output that is (real path or hard link) an input, lies inside one of
    ``folders``, is a folder or under a file, or is another output.

    Args:
        outputs (dict[str, str | None]): Option name (e.g. ``'--out'``) ->
            output path; None entries are skipped.
        inputs (Iterable[tuple[str, str]]): (what, path) of every input,
            e.g. ``('input video', 'in.mp4')``.
        folders (Iterable[tuple[str, str]]): (what, path) of input folders.

    Raises:
        UserError: Naming the option, the path and the input it hits.
    """
    inputs = [(what, os.fspath(path)) for what, path in inputs]
    folders = [(what, os.fspath(path)) for what, path in folders]
    seen: Dict[str, str] = {}
    for option, out in outputs.items():
        if out is None:
            continue
        out = os.fspath(out)
        real_out = osp.realpath(out)
        if osp.isdir(out):
            raise UserError(f'{option} {out} is a folder; expected the path '
                            'of a file to write')
        blocking = _file_in_the_way(out)
        if blocking is not None:
            raise UserError(f'{option} {out} cannot be written: {blocking} '
                            'is a file, not a folder')
        if real_out in seen:
            raise UserError(f'{option} {out} is the same file as '
                            f'{seen[real_out]}')
        seen[real_out] = f'{option} {out}'
        out_id = _file_identity(out)
        for what, path in inputs:
            if real_out == osp.realpath(path) or (
                    out_id is not None and out_id == _file_identity(path)):
                raise UserError(f'{option} {out} is the {what} {path}; '
                                'refusing to overwrite an input')
        refuse_writing_into_inputs(option, out, folders)


def _inside(path: str, folder: str) -> bool:
    """Whether the real path of ``path`` is ``folder`` or lies in it."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def refuse_writing_into_inputs(option: str, out: PathLike,
                               folders: Iterable[Tuple[str,
                                                       PathLike]]) -> None:
    """Refuse an output (file or folder) that is one of ``folders`` or
    lies inside one (real paths); every tool's outputs go through it.

    Args:
        option (str): The output's option name, e.g. ``'--show-dir'``.
        out (str): The output path.
        folders (Iterable[tuple[str, str]]): (what, path) of the input
            folders.

    Raises:
        UserError: ``'{option} {out} is (inside) the {what} {folder};
            refusing to write into an input folder'``.
    """
    out = os.fspath(out)
    for what, folder in folders:
        folder = os.fspath(folder)
        if _inside(out, folder):
            relation = 'is' if osp.realpath(out) == osp.realpath(folder) \
                else 'is inside'
            raise UserError(f'{option} {out} {relation} the {what} {folder}; '
                            'refusing to write into an input folder')


def refuse_output_folder(
        option: str,
        folder: PathLike,
        inputs: Iterable[Tuple[str, PathLike]] = (),
        outputs: Optional[Dict[str, Optional[PathLike]]] = None) -> None:
    """Refuse an output folder that is not new or empty, is, contains or
    lies inside an input, or contains another output of the run.

    Args:
        option (str): Its option name, e.g. ``'--out-masks'``.
        folder (str): The output folder.
        inputs (Iterable[tuple[str, str]]): (what, path) of the inputs.
        outputs (dict[str, str | None], optional): Option name -> path of
            the run's other outputs; None entries are skipped.

    Raises:
        UserError: Naming the option, the folder and what it hits.
    """
    folder = os.fspath(folder)
    where = f'{option} {folder}'
    blocking = _file_in_the_way(folder)
    if blocking is not None:
        raise UserError(f'{where} cannot be made: {blocking} is a file, not '
                        'a folder')
    if osp.exists(folder) and not osp.isdir(folder):
        raise UserError(f'{where} is a file; expected a new or empty folder')
    inputs = [(what, os.fspath(path)) for what, path in inputs]
    refuse_writing_into_inputs(option, folder, inputs)
    for what, path in inputs:
        if _inside(path, folder):
            raise UserError(f'{where} contains the {what} {path}; '
                            'refusing to write among the inputs')
    for other, path in (outputs or {}).items():
        if path is not None and _inside(os.fspath(path), folder):
            raise UserError(f'{where} would hold {other} {path}; give it a '
                            'folder of its own')
    if osp.isdir(folder):
        entries = sorted(os.listdir(folder))
        if entries:
            raise UserError(
                f'{where} already holds {len(entries)} entries (e.g. '
                f'{entries[0]}); give a new or empty folder (nothing in it '
                'is overwritten)')


def dumps_json_canonical(obj: Any) -> bytes:
    """``obj`` as JSON bytes that depend only on its content (sorted
    keys, fixed separators, ASCII)."""
    return json.dumps(
        obj, sort_keys=True, separators=(',', ':'),
        ensure_ascii=True).encode('ascii')


def dump_json_atomic(obj: Any, path: str) -> None:
    """Write ``obj`` as canonical JSON (see :func:`dumps_json_canonical`)
    to ``path`` atomically."""
    write_bytes_atomic(dumps_json_canonical(obj), path)
