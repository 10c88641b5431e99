"""Reading and writing YouTube-VIS results files.

Layout written by :func:`dump_vis_results` in an output directory::

    OUT_DIR/results.json     # the results list (YouTube-VIS format)
    OUT_DIR/submission.zip   # results.json at the zip root, for the server

Both are published atomically: a ``submission.zip`` present always holds
the ``results.json`` beside it (docs/reliability.md).
"""
import json
import os
import os.path as osp
import zipfile
import zlib
from typing import List, Tuple, Union

from ..utils.atomic_io import publish_files_atomic
from .vis_format import VISFormatError, load_json, loads_json_bytes

RESULTS_NAME = 'results.json'
SUBMISSION_NAME = 'submission.zip'
#: First bytes of a zip file (a local file header, an empty archive).
ZIP_SIGNATURES = (b'PK\x03\x04', b'PK\x05\x06')
#: Timestamp of the zip member, fixed so that equal results give equal
#: zip bytes.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def _submission_zip(data: bytes, path: str) -> None:
    """Write a zip holding ``data`` as ``results.json`` to ``path``."""
    info = zipfile.ZipInfo(RESULTS_NAME, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr(info, data)


def dump_vis_results(results: List[dict],
                     out_dir: Union[str, os.PathLike]) -> Tuple[str, str]:
    """Write ``results.json`` and ``submission.zip`` into ``out_dir``.

    Args:
        results (list[dict]): YouTube-VIS results; RLE ``counts`` must be
            str (json cannot hold bytes).
        out_dir (str | PathLike): Output directory, created if missing.

    Returns:
        tuple[str, str]: Paths of the json and the zip.
    """
    out_dir = os.fspath(out_dir)
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(
            f'{out_dir} is a file; the results need a folder for '
            f'{RESULTS_NAME} and {SUBMISSION_NAME}')
    json_path = osp.join(out_dir, RESULTS_NAME)
    zip_path = osp.join(out_dir, SUBMISSION_NAME)
    data = json.dumps(results).encode('utf-8')

    def write_json(tmp_path):
        with open(tmp_path, 'wb') as f:
            f.write(data)

    publish_files_atomic([(json_path, write_json),
                          (zip_path,
                           lambda tmp_path: _submission_zip(data, tmp_path))])
    return json_path, zip_path


def load_vis_results(path: Union[str, os.PathLike]) -> list:
    """Read results from a ``results.json`` or a submission zip (holding
    ``results.json`` at its root).

    Raises:
        VISFormatError: A malformed json or zip, naming the file.
        OSError: The file is missing or unreadable.
    """
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            signature = f.read(4)
        if signature in ZIP_SIGNATURES:
            raise VISFormatError(
                f'{path}: broken zip file (it starts as a zip but its '
                'directory at the end is missing or damaged: cut short or '
                'partly written?)')
        return load_json(path)
    try:
        with zipfile.ZipFile(path) as zf:
            if RESULTS_NAME not in zf.namelist():
                raise VISFormatError(
                    f'{path}: no {RESULTS_NAME} at the zip root (found '
                    f'{zf.namelist()[:5]})')
            data = zf.read(RESULTS_NAME)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise VISFormatError(f'{path}: broken zip file ({err})') from None
    try:
        return loads_json_bytes(data, universal_newlines=False)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise VISFormatError(
            f'{path}: malformed {RESULTS_NAME} ({err})') from None
