"""A write that fails in the OS (a full disk, a file size limit) names the
file the user asked for, in one line; nothing partial is left."""
import builtins
import errno
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmvis_clip.apis.results_stream_writer import ResultsStreamWriter
from mmvis_clip.engine import atomic_checkpoint
from mmvis_clip.utils import atomic_io
from mmvis_clip.utils.atomic_io import (dump_json_atomic, publish_files_atomic,
                                        write_file_atomic)
from mmvis_clip.utils.user_errors import exit_on_user_error, os_errors_name

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FULL = '/dev/full'  # every write to it fails with ENOSPC

pytestmark = pytest.mark.skipif(not osp.exists(FULL),
                                reason='needs /dev/full')


def open_full_instead(module, monkeypatch):
    """``open`` of ``module`` opens /dev/full: the disk is full."""

    def fake_open(path, mode='r', *args, **kwargs):
        assert 'w' in mode
        return builtins.open(FULL, mode, *args, **kwargs)

    monkeypatch.setattr(module, 'open', fake_open, raising=False)


def test_full_disk_names_the_file_in_one_line(tmp_path, monkeypatch):
    out = str(tmp_path / 'out' / 'results.json')
    open_full_instead(atomic_io, monkeypatch)
    with pytest.raises(SystemExit) as info:
        with exit_on_user_error():
            dump_json_atomic(dict(a=1), out)
    assert str(info.value) == (
        f"error: [Errno 28] No space left on device: '{out}'")
    assert os.listdir(tmp_path / 'out') == []  # no temporary left


def test_checkpoint_on_a_full_disk(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    open_full_instead(atomic_checkpoint, monkeypatch)
    with pytest.raises(OSError) as err:
        atomic_checkpoint.AtomicLocalBackend().put(b'x' * 100, path)
    assert err.value.errno == errno.ENOSPC
    assert err.value.filename == path
    assert os.listdir(tmp_path) == []


def test_publish_names_the_file_that_failed(tmp_path):
    json_path, zip_path = str(tmp_path / 'r.json'), str(tmp_path / 'r.zip')

    def write_full(tmp):
        with open(FULL, 'wb') as f:  # the writer's own write fails
            f.write(b'x' * 10)

    with pytest.raises(OSError) as err:
        publish_files_atomic([(json_path, lambda tmp: open(tmp, 'w').close()),
                              (zip_path, write_full)])
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, zip_path)
    assert os.listdir(tmp_path) == []


def test_errors_naming_another_file_keep_it(tmp_path):
    """An input missing while writing keeps its own name."""
    missing = str(tmp_path / 'input.json')

    def write(tmp):
        with open(missing) as f:
            f.read()

    with pytest.raises(FileNotFoundError) as err:
        write_file_atomic(str(tmp_path / 'out.json'), write)
    assert err.value.filename == missing
    with pytest.raises(OSError, match=r"Errno 28.*: 'x.bin'$"):
        with os_errors_name('x.bin'):
            raise OSError(errno.ENOSPC, 'No space left on device')


def test_results_stream_on_a_full_disk(tmp_path):
    path = str(tmp_path / 'res.jsonl')
    stream = ResultsStreamWriter(path, lambda label: label + 1,
                                 dict(video='v'))
    stream._file.close()
    stream._file = open(FULL, 'w', encoding='utf-8')
    with pytest.raises(OSError) as err:
        stream.end(dict(stopped_by='end'))
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, path)


def limited(size):
    """preexec_fn: files of at most ``size`` bytes (writes beyond fail
    with EFBIG; Python ignores SIGXFSZ)."""

    def preexec():
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return preexec


def test_a_tool_past_the_file_size_limit(tmp_path, make_tiny_synthetic):
    """A real process whose write the kernel refuses: one line naming the
    output, no traceback, nothing left."""
    raw = osp.join(make_tiny_synthetic(2, 4, 6), 'annotations', 'train.json')
    out = str(tmp_path / 'out' / 'cocovid.json')
    proc = subprocess.run(
        [
            sys.executable, 'tools/dataset_converters/vis2cocovid.py', '-i',
            raw, '-o', out, '--no-progress'
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limited(2000))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: [Errno 27] File too large: '{out}'")
    assert os.listdir(tmp_path / 'out') == []


VIDEO_SCRIPT = '''
import sys
import numpy as np
from mmvis_clip.visualization import AtomicVideoWriter
from mmvis_clip.utils.user_errors import exit_on_user_error
rng = np.random.default_rng(0)
with exit_on_user_error():
    with AtomicVideoWriter(sys.argv[1], fps=10) as writer:
        for _ in range(40):
            writer.write((rng.random((64, 96, 3)) * 255).astype(np.uint8))
print('written')
'''


def test_video_past_the_file_size_limit(tmp_path):
    """OpenCV writes on silently: the written video is checked."""
    out = str(tmp_path / 'v' / 'out.mp4')
    run = dict(cwd=REPO, capture_output=True, text=True, timeout=600)
    proc = subprocess.run([sys.executable, '-c', VIDEO_SCRIPT, out],
                          preexec_fn=limited(20000), **run)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: [Errno ') and last.endswith(
        f"OpenCV could not write the whole video (0 of 40 frames readable, "
        f"{last.split('readable, ')[1].split(' ')[0]} bytes free on its "
        f"disk): '{out}'"), last
    assert os.listdir(tmp_path / 'v') == []
    # without the limit it is written
    proc = subprocess.run([sys.executable, '-c', VIDEO_SCRIPT, out], **run)
    assert proc.stdout.strip() == 'written', proc.stderr[-2000:]
    assert os.listdir(tmp_path / 'v') == ['out.mp4']


def test_json_dump_through_exit_on_user_error_is_valid(tmp_path):
    # the ordinary path still writes (the wrapper changes nothing else)
    out = str(tmp_path / 'ok.json')
    dump_json_atomic([1, 2], out)
    with open(out) as f:
        assert json.load(f) == [1, 2]
