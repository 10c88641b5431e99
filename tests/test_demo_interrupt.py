"""Ctrl-C on ``tools/demo/video_demo.py``, sent to a real process: the
first one writes every output of the frames processed, for a video file as
for a stream; a second one 20 ms later aborts cleanly."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from mmvis_clip.visualization import AtomicVideoWriter

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'tools', 'demo', 'video_demo.py')
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')
NUM_FRAMES = 60


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    """An mp4 of 60 frames of 64x96, a box moving right."""
    path = str(tmp_path_factory.mktemp('in') / 'in.mp4')
    with AtomicVideoWriter(path, fps=10) as writer:
        for i in range(NUM_FRAMES):
            frame = np.full((64, 96, 3), 40, np.uint8)
            cv2.rectangle(frame, (i % 60, 10), (i % 60 + 20, 40),
                          (0, 200, 0), -1)
            writer.write(frame)
    return path


def frame_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith('\n')]
    except FileNotFoundError:
        return []


def interrupt(source, out_dir, gaps, *options):
    """Start the demo on ``source``; once it has processed 2 frames send
    SIGINT, then one more after each of ``gaps`` seconds. Returns the
    finished process and its outputs."""
    outs = dict(
        out=osp.join(out_dir, 'o.mp4'),
        json=osp.join(out_dir, 'o.json'),
        frames=osp.join(out_dir, 'o.jsonl'))
    proc = subprocess.Popen(
        [
            sys.executable, DEMO, source, CONFIG, '--out', outs['out'],
            '--out-json', outs['json'], '--out-frames', outs['frames'],
            *options
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True)
    deadline = time.monotonic() + 600
    while sum('frame' in line for line in frame_lines(outs['frames'])) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    for gap in gaps:
        time.sleep(gap)
        proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=600)
    return proc.returncode, stdout, stderr, outs


def count_frames(path):
    capture = cv2.VideoCapture(path)
    num = 0
    while capture.read()[0]:
        num += 1
    capture.release()
    return num


def assert_outputs_hold_the_processed_frames(outs):
    lines = frame_lines(outs['frames'])
    end = lines[-1]['end']
    processed = end['frames_processed']
    assert end['stopped_by'] == 'interrupted'
    assert 2 <= processed < NUM_FRAMES
    assert sum('frame' in line for line in lines) == processed
    assert count_frames(outs['out']) == processed
    with open(outs['json']) as f:
        entries = json.load(f)
    assert entries and all(
        len(e['segmentations']) == processed for e in entries)
    return processed


@pytest.mark.parametrize('live', [False, True])
def test_first_ctrl_c_writes_what_was_processed(video, tmp_path, live):
    source = 'file://' + video if live else video
    options = ['--drop-frames', 'none'] if live else []
    status, stdout, stderr, outs = interrupt(source, str(tmp_path), [],
                                             *options)
    assert status == 0, stderr[-3000:]
    assert 'Traceback' not in stderr
    processed = assert_outputs_hold_the_processed_frames(outs)
    total = '' if live else f' of {NUM_FRAMES}'
    assert stderr.strip().splitlines()[-1] == (
        f'warning: interrupted by Ctrl-C after {processed}{total} frames: '
        f'the outputs hold the {processed} frames processed (exit status 0)')
    assert 'stopped by Ctrl-C' in stdout


@pytest.mark.parametrize('live', [False, True])
def test_second_ctrl_c_20ms_later_aborts_cleanly(video, tmp_path, live):
    source = 'file://' + video if live else video
    options = ['--drop-frames', 'none'] if live else []
    status, stdout, stderr, outs = interrupt(source, str(tmp_path), [0.02],
                                             *options)
    # not killed by a signal (SIGABRT: -6), no traceback
    assert status in (0, 130), (status, stderr[-3000:])
    assert 'Traceback' not in stderr and 'Fatal Python' not in stderr
    if status == 0:  # (a fast machine) all was written within 20 ms
        assert_outputs_hold_the_processed_frames(outs)
        return
    assert stderr.strip().splitlines()[-1] == (
        'aborted by Ctrl-C: the outputs not yet written are not written, '
        'none is left partial (an --out-frames file has no end line)')
    # nothing partial: no temporary, the streamed lines without an end
    assert sorted(os.listdir(tmp_path)) == ['o.jsonl']
    assert 'end' not in frame_lines(outs['frames'])[-1]


def test_ctrl_c_while_the_stack_loads_is_one_line(video, tmp_path):
    """A Ctrl-C before the demo has even imported torch: one line, exit
    130, nothing written (no traceback from inside an import)."""
    out = str(tmp_path / 'o.mp4')
    proc = subprocess.Popen(
        [sys.executable, DEMO, video, CONFIG, '--out', out],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True)
    # torch's library mapped: the stack is loading (for seconds more)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None and time.monotonic() < deadline
        with open(f'/proc/{proc.pid}/maps') as f:
            if 'libtorch' in f.read():
                break
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert 'Traceback' not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        'aborted by Ctrl-C while starting: nothing was written')
    assert not os.listdir(tmp_path)
