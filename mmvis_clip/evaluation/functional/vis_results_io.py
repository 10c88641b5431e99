"""Reading and writing YouTube-VIS results files.

Layout written by :func:`dump_vis_results` in an output directory::

    OUT_DIR/results.json     # the results list (YouTube-VIS format)
    OUT_DIR/submission.zip   # results.json at the zip root, for the server

Every file is written to a temporary file in its final folder and then
renamed over the target, so a reader never sees a partial file.
"""
import json
import os
import os.path as osp
import zipfile
from typing import List, Tuple, Union

from ...utils.atomic_io import write_bytes_atomic, write_file_atomic
from ...utils.vis_format import VISFormatError, load_json

RESULTS_NAME = 'results.json'
SUBMISSION_NAME = 'submission.zip'


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
    json_path = osp.join(out_dir, RESULTS_NAME)
    zip_path = osp.join(out_dir, SUBMISSION_NAME)
    write_bytes_atomic(json.dumps(results).encode('utf-8'), json_path)

    def write_zip(tmp_path):
        with zipfile.ZipFile(tmp_path, 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.write(json_path, RESULTS_NAME)

    write_file_atomic(zip_path, write_zip)
    return json_path, zip_path


def load_vis_results(path: Union[str, os.PathLike]) -> list:
    """Read results from a ``results.json`` or a submission zip.

    A zip must hold ``results.json`` at its root.
    """
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        return load_json(path)
    with zipfile.ZipFile(path) as zf:
        if RESULTS_NAME not in zf.namelist():
            raise VISFormatError(
                f'{path}: no {RESULTS_NAME} at the zip root (found '
                f'{zf.namelist()[:5]})')
        try:
            return json.loads(zf.read(RESULTS_NAME).decode('utf-8'))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise VISFormatError(
                f'{path}: malformed {RESULTS_NAME} ({err})') from None
