"""Atomic writes: content, no temporary files left, ordinary permissions."""
import os
import signal
import stat
import subprocess
import sys

import pytest

from mmvis_clip.utils.atomic_io import (dump_json_atomic, publish_files_atomic,
                                        refuse_overwriting_inputs,
                                        stale_temporaries, write_bytes_atomic,
                                        write_file_atomic)
from mmvis_clip.utils.user_errors import UserError


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_get_the_mode_open_would_give(tmp_path, umask_022):
    # mkstemp creates 0o600 files; a published checkpoint or results file
    # must be readable like any file the user writes
    plain = tmp_path / 'plain.bin'
    plain.write_bytes(b'x')
    assert mode(plain) == 0o644
    write_bytes_atomic(b'abc', str(tmp_path / 'a.bin'))
    write_file_atomic(str(tmp_path / 'b.bin'),
                      lambda p: open(p, 'wb').write(b'def'))
    dump_json_atomic({'b': 1, 'a': [2]}, str(tmp_path / 'c.json'))
    for name in ('a.bin', 'b.bin', 'c.json'):
        assert mode(tmp_path / name) == 0o644, name
    assert (tmp_path / 'a.bin').read_bytes() == b'abc'
    assert (tmp_path / 'b.bin').read_bytes() == b'def'
    assert (tmp_path / 'c.json').read_bytes() == b'{"a":[2],"b":1}'
    assert sorted(os.listdir(tmp_path)) == [
        'a.bin', 'b.bin', 'c.json', 'plain.bin'
    ]


def test_failed_write_leaves_nothing(tmp_path):

    def failing(path):
        open(path, 'wb').write(b'partial')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        write_file_atomic(str(tmp_path / 'out.bin'), failing)
    assert os.listdir(tmp_path) == []


def test_publish_files_atomic_writes_all_and_clears_stale_temporaries(
        tmp_path, umask_022):
    first, second = tmp_path / 'a.json', tmp_path / 'b.zip'
    # left by a run killed while writing, and files that only look alike
    stale = [
        tmp_path / '.a.json.k3j_9xq2.tmp', tmp_path / '.b.zip.abcdefgh.tmp'
    ]
    kept = [
        tmp_path / '.a.json.tmp', tmp_path / '.a.json.toolong12.tmp',
        tmp_path / 'a.json.abcdefgh.tmp', tmp_path / '.c.json.abcdefgh.tmp'
    ]
    for path in stale + kept:
        path.write_bytes(b'old')
    assert stale_temporaries(str(first)) == [str(stale[0])]
    publish_files_atomic([
        (str(first), lambda p: open(p, 'wb').write(b'1')),
        (str(second), lambda p: open(p, 'wb').write(b'2')),
    ])
    assert first.read_bytes() == b'1' and second.read_bytes() == b'2'
    assert mode(first) == mode(second) == 0o644
    assert sorted(os.listdir(tmp_path)) == sorted(
        ['a.json', 'b.zip'] + [p.name for p in kept])


def test_publish_files_atomic_failed_write_keeps_the_old_pair(tmp_path):
    first, second = tmp_path / 'a.json', tmp_path / 'b.zip'
    first.write_bytes(b'old 1')
    second.write_bytes(b'old 2')

    def failing(path):
        open(path, 'wb').write(b'partial')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        publish_files_atomic([(str(first), lambda p: open(p, 'wb').write(
            b'new 1')), (str(second), failing)])
    assert first.read_bytes() == b'old 1' and second.read_bytes() == b'old 2'
    assert sorted(os.listdir(tmp_path)) == ['a.json', 'b.zip']


KILL_BETWEEN_RENAMES = r'''
import os, signal, sys
from mmvis_clip.structures import dump_vis_results
renames = []
real_replace = os.replace
def replace(src, dst):
    real_replace(src, dst)
    renames.append(dst)
    if len(renames) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
dump_vis_results([{'video_id': 2, 'new': True}], sys.argv[1])
'''


@pytest.mark.parametrize('kill_after', [1, 2])
def test_results_pair_never_mixes_runs_after_a_kill(tmp_path, kill_after):
    """tools/test.py --out DIR: a kill while results.json and
    submission.zip are published never leaves a new results.json beside
    the previous run's submission.zip; the next run clears the
    temporaries."""
    from mmvis_clip.structures import (dump_vis_results, load_vis_results)
    out = tmp_path / 'out'
    dump_vis_results([{'video_id': 1}], str(out))
    proc = subprocess.run(
        [sys.executable, '-c', KILL_BETWEEN_RENAMES, str(out),
         str(kill_after)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    names = sorted(os.listdir(out))
    new = [{'video_id': 2, 'new': True}]
    assert load_vis_results(str(out / 'results.json')) == new
    if kill_after == 1:  # killed between the renames: the zip is gone
        assert names[-1] == 'results.json' and 'submission.zip' not in names
        assert len(names) == 2 and names[0].startswith('.submission.zip.')
    else:
        assert names == ['results.json', 'submission.zip']
        assert load_vis_results(str(out / 'submission.zip')) == new
    dump_vis_results([{'video_id': 3}], str(out))
    assert sorted(os.listdir(out)) == ['results.json', 'submission.zip']
    assert load_vis_results(str(out / 'submission.zip')) == [{'video_id': 3}]


def test_refuse_overwriting_inputs(tmp_path):
    video = tmp_path / 'in.mp4'
    video.write_bytes(b'v')
    frames = tmp_path / 'frames'
    frames.mkdir()
    (frames / '0.jpg').write_bytes(b'f')
    os.link(video, tmp_path / 'hard.mp4')
    os.symlink(video, tmp_path / 'soft.mp4')
    inputs = [('input video', str(video)), ('frame folder', str(frames))]
    folders = [('frame folder', str(frames))]
    ok = {'--out': str(tmp_path / 'new' / 'out.mp4'), '--json': None}
    refuse_overwriting_inputs(ok, inputs, folders)
    for out, words in [
        (str(video), 'is the input video'),
        (str(tmp_path / '.' / 'in.mp4'), 'is the input video'),
        (str(tmp_path / 'soft.mp4'), 'is the input video'),
        (str(tmp_path / 'hard.mp4'), 'is the input video'),
        (str(frames / '0.jpg'), 'inside the frame folder'),
        (str(frames / 'new.json'), 'inside the frame folder'),
        (str(tmp_path), 'is a folder'),
        (str(video / 'x.json'), f'cannot be written: {video} is a file'),
    ]:
        with pytest.raises(UserError, match=words) as error:
            refuse_overwriting_inputs({'--out': out}, inputs, folders)
        assert str(error.value).startswith(f'--out {out} ')
    with pytest.raises(UserError, match='--b .*same file as --a'):
        refuse_overwriting_inputs({
            '--a': str(tmp_path / 'x.json'),
            '--b': str(tmp_path / 'x.json')
        }, inputs)
