"""Atomic, byte-reproducible file writing.

A file is first written to a temporary file in the destination folder and
then moved over the destination with :func:`os.replace`, so a reader never
sees a half-written file and an interrupted run leaves no partial output.

An ``OSError`` while writing (a full disk, a quota) names the destination
file (:func:`~mmvis_clip.utils.user_errors.os_errors_name`), not the
temporary. Temporaries are named ``.<name>.<random>.tmp`` (``<random>``:
the 8 characters of :func:`tempfile.mkstemp`); a process killed while
writing leaves one behind, which :func:`remove_stale_temporaries` (called by
:func:`publish_files_atomic`) deletes on the next run.
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
    """Mode of a newly created file: ``0o666`` minus the process umask.

    ``tempfile.mkstemp`` creates files readable by their owner only
    (``0o600``); the result is chmod-ed to what ``open(path, 'w')`` would
    have given, so that published checkpoints and results stay readable.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _check_destination(path: str) -> str:
    """Create the parent folders of ``path``; refuse a folder as ``path``.

    Returns:
        str: The destination folder.
    """
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
    """A new, closed temporary file next to ``path`` (see the module doc
    for its name)."""
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

    For writers that need a path rather than bytes (e.g. ``zipfile``).

    Args:
        path (str): Destination file path; parent folders are created.
        write (Callable[[str], None]): Writes the content to the given
            temporary path.
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
    """Delete the :func:`stale_temporaries` of ``path``.

    Two processes writing the same file at the same time are not
    supported: one would delete the other's temporary.

    Returns:
        list[str]: The deleted files.
    """
    removed = stale_temporaries(path)
    for tmp_path in removed:
        _remove_quietly(tmp_path)
    return removed


def publish_files_atomic(
        files: Sequence[Tuple[PathLike, Callable[[str], None]]]) -> None:
    """Write several files that belong together (e.g. ``results.json`` and
    the ``submission.zip`` made from it), so that the files present under
    their final names always come from one call.

    Every file is first written to its temporary (``write(tmp_path)``); a
    failure there leaves the previous files untouched. Then the previous
    versions of all files but the first are deleted, and the temporaries
    are renamed in order, first file first. A renaming of several files
    cannot be atomic as a whole; this order guarantees that a reader who
    finds several of the files finds them from the same call: a kill
    during publication leaves the old first file alone, or the new first
    file with some (possibly none) of the new others, never a new file
    beside an old one. The stale temporaries of earlier interrupted calls
    are deleted first (:func:`remove_stale_temporaries`).

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
    """Refuse output paths that would overwrite what the run reads.

    An output is refused when it resolves (:func:`os.path.realpath`, or
    :func:`os.path.samefile` for hard links) to an input file or to an
    input folder, when it lies inside one of ``folders`` (folders whose
    every file is read, e.g. a folder of frames), when it is an existing
    folder or a parent of it is a file, or when two outputs are the same
    file.

    Args:
        outputs (dict[str, str | None]): Option name (e.g. ``'--out'``) ->
            output path; None entries are skipped.
        inputs (Iterable[tuple[str, str]]): (what, path) of every input
            file or folder, e.g. ``('input video', 'in.mp4')``.
        folders (Iterable[tuple[str, str]]): (what, path) of input folders
            no output may be written into.

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
    """The one rule that keeps outputs out of the inputs' folders: refuse
    an output (a file, or a folder written into) that is one of
    ``folders`` or lies inside one (through ``..``, ``./`` or symbolic
    links too).

    Every tool's outputs go through it: :func:`refuse_overwriting_inputs`
    (files), :func:`refuse_output_folder` (new folders), ``tools/test.py``
    ``--out`` / ``--show-dir`` and ``VideoRenderHook``.

    Args:
        option (str): The output's option name, e.g. ``'--show-dir'``.
        out (str): The output path.
        folders (Iterable[tuple[str, str]]): (what, path) of the input
            folders, e.g. ``('test frame folder', 'data/valid/JPEGImages')``.

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
    """Refuse an output folder that could overwrite or mix with anything.

    The folder must be new or empty, must not be, contain or lie inside
    an input (file or folder), and must not be or contain another output
    of the run (which would then write into it).

    Args:
        option (str): Its option name, e.g. ``'--out-masks'``.
        folder (str): The output folder.
        inputs (Iterable[tuple[str, str]]): (what, path) of the inputs,
            e.g. ``('input frame folder', 'frames/')``.
        outputs (dict[str, str | None], optional): Option name -> path of
            the run's other outputs (files or folders); None entries are
            skipped.

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
