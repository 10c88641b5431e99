"""Live input: cameras and stream URLs, the frame reader's drop policies,
``video_demo.py --show / --max-frames / --drop-frames / --out-frames``.

Drop policies are checked with a scripted source whose frames are released
by events and a consumer that waits for the reader through events, so
which frames are processed is fixed, whatever the machine's speed.
"""
import json
import os
import signal
import socket
import threading
import time

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from scripted_frames import draw
# fixtures and helpers of the demo tests
from test_video_demo import (CONFIG, checkpoint, count_frames,  # noqa: F401
                             data_root, video_demo)

from mmvis_clip.apis import FrameError, FrameSource
from mmvis_clip.apis.frame_reader import FrameReader, StreamTimeoutError
from mmvis_clip.apis.live_frame_source import (LiveFrameSource, SourceError,
                                               live_source_of,
                                               open_frame_source,
                                               redact_message, redact_url)
from mmvis_clip.visualization import AtomicVideoWriter
from mmvis_clip.visualization.frame_window import (NoDisplayError,
                                                   check_display, opencv_gui)

#: Longest wait for an event that must happen (a safety net, never reached
#: when the code is right).
WAIT = 60


def scripted_frame(i):
    """(64, 96, 3) uint8 frame ``i``: a box whose position encodes i."""
    x = 5 + 7 * (i % 10)
    return np.ascontiguousarray(
        draw([(x, 10, x + 20, 50)], [(200, 120, 60)]).transpose(1, 2, 0))


class ScriptedFrames:
    """A source of ``n`` frames; frame i is yielded once ``gate[i]`` is set
    (all set with ``gated=False``); ``handled[i]`` is set when the reader
    asks for the next frame, i.e. after it buffered or dropped frame i."""

    def __init__(self, n, gated=True):
        self.n = n
        self.gate = [threading.Event() for _ in range(n)]
        self.handled = [threading.Event() for _ in range(n)]
        self.yielded = [threading.Event() for _ in range(n)]
        self.closed = threading.Event()
        if not gated:
            for event in self.gate:
                event.set()

    def open_gates(self, first, last):
        for i in range(first, last + 1):
            self.gate[i].set()

    def __iter__(self):
        try:
            for i in range(self.n):
                assert self.gate[i].wait(WAIT), f'frame {i} never released'
                self.yielded[i].set()
                yield scripted_frame(i)
                self.handled[i].set()
        finally:
            self.closed.set()


def wait_until(condition):
    """Poll ``condition`` until true (no fixed duration is assumed)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, 'condition never became true'
        time.sleep(0.005)


def run_script(reader, source):
    """Take frame 0, release frames 1-3 and wait until the reader handled
    them, take one, release 4-9 likewise, then take the rest; returns the
    source indices taken."""
    frames = iter(reader)
    source.open_gates(0, 0)
    taken = [next(frames)[0]]
    source.open_gates(1, 3)
    assert source.handled[3].wait(WAIT)
    taken.append(next(frames)[0])
    source.open_gates(4, 9)
    assert source.handled[9].wait(WAIT)
    taken += [index for index, _ in frames]
    return taken


# hand-computed: after frame 0 is taken, frames 1-3 arrive into an empty
# buffer, one frame is taken, then 4-9 arrive
@pytest.mark.parametrize('policy, queue_size, taken', [
    ('oldest', 1, [0, 3, 9]),
    ('oldest', 2, [0, 2, 8, 9]),
    ('newest', 1, [0, 1, 4]),
    ('newest', 2, [0, 1, 2, 4]),
])
def test_reader_drops_by_policy_with_a_bounded_buffer(policy, queue_size,
                                                      taken):
    source = ScriptedFrames(10)
    reader = FrameReader(source, policy=policy, queue_size=queue_size,
                         name='camera 3')
    assert run_script(reader, source) == taken
    assert reader.max_buffered == queue_size
    assert reader.num_read == 10
    assert reader.num_taken == len(taken)
    assert reader.num_dropped == 10 - len(taken)
    assert reader.num_unprocessed == 0
    assert source.closed.wait(WAIT)


def test_reader_none_drops_nothing_and_waits_for_room():
    source = ScriptedFrames(10, gated=False)
    reader = FrameReader(source, policy='none', queue_size=2)
    frames = iter(reader)
    assert next(frames)[0] == 0
    # the consumer is busy: the reader buffers 1 and 2, takes 3 from the
    # source and waits for room; it asks for no more
    wait_until(lambda: reader.num_read == 4)
    assert reader.buffered_indices() == [1, 2]
    assert source.yielded[3].is_set() and not source.yielded[4].is_set()
    rest = list(frames)
    assert [index for index, _ in rest] == list(range(1, 10))
    assert reader.num_dropped == 0 and reader.max_buffered == 2
    # the frames are the source's
    assert all(np.array_equal(frame, scripted_frame(index))
               for index, frame in rest)


def test_reader_max_frames_stops_exactly():
    source = ScriptedFrames(10, gated=False)
    reader = FrameReader(source, policy='none', max_frames=4)
    assert [index for index, _ in reader] == [0, 1, 2, 3]
    assert source.closed.wait(WAIT)  # the source was closed
    assert reader.num_read == 4  # and never asked for frame 4
    assert not source.yielded[4].is_set()

    source = ScriptedFrames(10)
    reader = FrameReader(source, policy='oldest', max_frames=2)
    frames = iter(reader)
    source.open_gates(0, 0)
    assert next(frames)[0] == 0
    source.open_gates(1, 3)
    assert source.handled[3].wait(WAIT)
    assert next(frames)[0] == 3
    source.open_gates(4, 9)  # the source goes on: the reader stops anyway
    with pytest.raises(StopIteration):
        next(frames)
    assert source.closed.wait(WAIT)
    assert reader.num_taken == 2
    assert reader.num_read == (reader.num_taken + reader.num_dropped +
                               reader.num_unprocessed)


def test_reader_times_out_naming_the_source():
    never = threading.Event()

    def stalls():
        yield scripted_frame(0)
        never.wait(WAIT)  # a stream that stops delivering

    reader = FrameReader(stalls(), policy='oldest', timeout=0.2,
                         name='stream rtsp://cam.local/live')
    frames = iter(reader)
    assert next(frames)[0] == 0
    with pytest.raises(StreamTimeoutError) as err:
        next(frames)
    assert str(err.value) == ('stream rtsp://cam.local/live delivered no '
                              'frame for 0.2 s (after 1 frames); is it '
                              'still streaming?')
    never.set()


def test_reader_raises_the_source_error_after_its_frames():
    error = FrameError('frame 2 is bad')

    def breaks():
        yield scripted_frame(0)
        yield scripted_frame(1)
        raise error

    reader = FrameReader(breaks(), policy='none')
    seen = []
    with pytest.raises(FrameError) as err:
        for index, _ in reader:
            seen.append(index)
    assert seen == [0, 1] and err.value is error


def test_reader_refuses_bad_settings():
    for kwargs, words in [(dict(policy='latest'), 'drop policy'),
                          (dict(queue_size=0), 'queue_size'),
                          (dict(timeout=0), 'timeout'),
                          (dict(max_frames=0), 'max_frames')]:
        with pytest.raises(ValueError, match=words):
            FrameReader([], **kwargs)


def test_source_names():
    assert live_source_of('0') == 0 and live_source_of('12') == 12
    for url in ('rtsp://h/x', 'http://h:8080/v.mjpg', 'file:///a/b.mp4'):
        assert live_source_of(url) == url
    for path in ('video.mp4', './0', 'frames/0', '/data/12'):
        assert live_source_of(path) is None
    assert redact_url('rtsp://me:secret@cam:554/s') == \
        'rtsp://me:***@cam:554/s'
    assert redact_url('rtsp://cam/s') == 'rtsp://cam/s'


def test_redact_message_replaces_the_password_only_in_the_url():
    url = 'rtsp://me:p@cam:554/s'
    message = ('Connection to tcp://cam:554?timeout=0 failed for '
               'rtsp://me:p@cam:554/s (me:p@cam)')
    assert redact_message(message, url) == (
        'Connection to tcp://cam:554?timeout=0 failed for '
        'rtsp://me:***@cam:554/s (me:***@cam)')
    assert redact_message('tcp refused', 'rtsp://cam/s') == 'tcp refused'


@pytest.fixture(scope='module')
def video(data_root, tmp_path_factory):  # noqa: F811
    """An mp4 of the 5 frames of a synthetic video, at 5 fps."""
    path = tmp_path_factory.mktemp('live') / 'in.mp4'
    folder = os.path.join(data_root, 'valid', 'JPEGImages', 'video_0000')
    with AtomicVideoWriter(str(path), fps=5) as writer:
        for frame in FrameSource(folder):
            writer.write(frame)
    return path


def test_file_url_opened_as_a_stream(video):
    source = open_frame_source(video.as_uri())
    assert isinstance(source, LiveFrameSource) and source.is_live
    assert source.description == f'stream {video.as_uri()}'
    assert source.name == 'in' and source.num_frames is None
    assert source.fps == 5
    frames = list(source)
    expected = list(FrameSource(str(video)))
    assert len(frames) == 5
    assert all(np.array_equal(a, b) for a, b in zip(frames, expected))
    # through the reader too, each frame once and in order
    reader = FrameReader(open_frame_source(video.as_uri()), policy='none',
                         timeout=WAIT)
    assert [i for i, _ in reader] == [0, 1, 2, 3, 4]


def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_missing_camera_and_bad_urls_name_the_source():
    with pytest.raises(SourceError, match=r'^camera 99 cannot be opened'):
        LiveFrameSource(99)
    port = closed_port()
    for url in (f'http://127.0.0.1:{port}/video.mjpg',
                f'rtsp://me:pw@127.0.0.1:{port}/live',
                f'rtsp://me:p@127.0.0.1:{port}/live'):
        with pytest.raises(SourceError) as err:
            open_frame_source(url, timeout=5)
        assert str(err.value).startswith(
            f'stream {redact_url(url)} cannot be opened'), str(err.value)
        assert ':pw@' not in str(err.value) and ':p@' not in str(err.value)
        assert 'tc***' not in str(err.value)


def test_first_interrupt_stops_the_second_aborts():
    before = signal.getsignal(signal.SIGINT)
    stop = threading.Event()
    with video_demo.stop_on_first_interrupt(stop):
        os.kill(os.getpid(), signal.SIGINT)
        wait_until(stop.is_set)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            wait_until(lambda: False)
    assert signal.getsignal(signal.SIGINT) is before


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_demo_on_a_file_url_with_max_frames(
        video, checkpoint, tmp_path, capsys):  # noqa: F811
    out_json = tmp_path / 'res.json'
    out_frames = tmp_path / 'res.jsonl'
    video_demo.main([
        video.as_uri(), CONFIG, '--checkpoint', checkpoint, '--out-json',
        str(out_json), '--out-frames', str(out_frames), '--max-frames', '3',
        '--drop-frames', 'none', '--video-id', '4'
    ])
    lines = read_jsonl(out_frames)
    assert lines[0] == dict(video='in', video_id=4,
                            source=f'stream {video.as_uri()}', fps=5.0)
    frames = [line for line in lines if 'frame' in line]
    assert [(f['frame'], f['source_frame']) for f in frames] == [(0, 0),
                                                                 (1, 1),
                                                                 (2, 2)]
    assert lines[-1]['end'] == dict(
        drop_policy='none', queue_size=1, frames_read=3,
        frames_processed=3, frames_dropped=0, frames_unprocessed=0,
        stopped_by='max_frames', num_tracks=lines[-1]['end']['num_tracks'])
    tracks = [line for line in lines if 'track' in line]
    entries = json.load(open(out_json))
    assert len(tracks) == len(entries) == lines[-1]['end']['num_tracks'] > 0
    # the streamed frames hold what --out-json holds, track by track
    for entry, track in zip(entries, tracks):
        assert len(entry['segmentations']) == 3
        # one rule for a track's category and score (TrackVotes)
        assert entry['category_id'] == track['category_id']
        assert entry['score'] == track['score']
        assert track['frames'] == sum(
            rle is not None for rle in entry['segmentations'])
        for frame, rle in zip(frames, entry['segmentations']):
            hits = [i for i in frame['instances']
                    if i['id'] == track['track']]
            assert (rle is None) == (not hits)
            if hits:
                assert np.array_equal(
                    mask_utils.decode(hits[0]['segmentation']),
                    mask_utils.decode(rle))
    out = capsys.readouterr().out
    assert (f'stream {video.as_uri()}: 3 frames read, 3 processed, 0 '
            'dropped (--drop-frames none, --queue-size 1); stopped by '
            '--max-frames') in out


class ScriptedLiveSource(ScriptedFrames):
    """:class:`ScriptedFrames` as ``open_frame_source`` returns a camera."""
    is_live = True
    num_frames = None
    frame_files = None
    fps = 10.0
    name = 'camera5'
    description = 'camera 5'
    source = 5

    def release(self):
        pass  # what the demo calls on a LiveFrameSource


class GatedSegmenter:
    """A segmenter that, like a slow model, lets the source run ahead: on
    its first push frames 1-3 arrive, on its second frames 4-9."""

    def __init__(self, segmenter, source):
        self.segmenter = segmenter
        self.source = source
        self.pushes = 0

    def push(self, frame):
        results = self.segmenter.push(frame)
        self.pushes += 1
        if self.pushes == 1:
            self.source.open_gates(1, 3)
            assert self.source.handled[3].wait(WAIT)
        elif self.pushes == 2:
            self.source.open_gates(4, 9)
            assert self.source.handled[9].wait(WAIT)
        return results

    def __getattr__(self, name):
        return getattr(self.segmenter, name)


def test_demo_drops_frames_of_a_slow_model(
        monkeypatch, checkpoint, tmp_path, capsys):  # noqa: F811
    source = ScriptedLiveSource(10)
    source.open_gates(0, 0)
    real = video_demo.VideoSegmenter
    monkeypatch.setattr(video_demo, 'open_frame_source',
                        lambda text, timeout: source)
    monkeypatch.setattr(video_demo, 'VideoSegmenter',
                        lambda model: GatedSegmenter(real(model), source))
    out_frames, out_json = tmp_path / 'r.jsonl', tmp_path / 'r.json'
    out = tmp_path / 'r.mp4'
    status = video_demo.main([
        '5', CONFIG, '--checkpoint', checkpoint, '--out-frames',
        str(out_frames), '--out-json', str(out_json), '--out', str(out),
        '--score-thr', '1'  # nothing drawn: --out shows the source frames
    ])
    lines = read_jsonl(out_frames)
    assert [line['source_frame'] for line in lines if 'frame' in line
            ] == [0, 3, 9]  # --drop-frames oldest, the live default
    end = lines[-1]['end']
    # a camera that stops delivering ended early
    assert (end['drop_policy'], end['frames_read'], end['frames_processed'],
            end['frames_dropped'], end['stopped_by']) == ('oldest', 10, 3, 7,
                                                          'stream_ended')
    assert status == video_demo.EXIT_STREAM_ENDED == 4
    assert all(len(e['segmentations']) == 3
               for e in json.load(open(out_json)))
    captured = capsys.readouterr()
    assert ('camera 5: 10 frames read, 3 processed, 7 dropped '
            '(--drop-frames oldest, --queue-size 1); stopped by the stream '
            'ending early') in captured.out
    assert ('warning: camera 5 ended early, after 10 frames read (3 '
            'processed)') in captured.err
    # --out in the source's time: at the source's 10 fps, each processed
    # frame held until the next one, source frames 0 to 9 in 1 s
    assert ('--out: 10 frames at 10 fps (1.00 s, source frames 0 to 9; '
            'mp4v)') in captured.out
    capture = cv2.VideoCapture(str(out))
    assert capture.get(cv2.CAP_PROP_FPS) == 10
    capture.release()
    assert count_frames(str(out)) == (10, (64, 96))
    candidates = [scripted_frame(i) for i in (0, 3, 9)]
    shown = [(0, 3, 9)[closest_frame(frame, candidates)]
             for frame in read_video(out)]
    assert shown == [0] * 3 + [3] * 6 + [9]


def read_video(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def run_demo_on(url, tmp_path, *options):
    """The demo on ``url`` with every output (every frame processed);
    returns the exit status and the outputs' paths."""
    outs = dict(out=tmp_path / 'r.mp4', json=tmp_path / 'r.json',
                frames=tmp_path / 'r.jsonl', masks=tmp_path / 'masks')
    status = video_demo.main([
        url, CONFIG, '--out', str(outs['out']), '--out-json',
        str(outs['json']), '--out-frames', str(outs['frames']),
        '--out-masks', str(outs['masks']), '--drop-frames', 'none',
        *options
    ])
    return status, outs


def assert_outputs_hold(outs, num_frames, stopped_by):
    """Every output holds ``num_frames`` processed frames and the JSON
    Lines end with an end line naming ``stopped_by``."""
    assert count_frames(str(outs['out'])) == (num_frames, (64, 96))
    entries = json.load(open(outs['json']))
    assert entries and all(
        len(e['segmentations']) == num_frames for e in entries)
    lines = read_jsonl(outs['frames'])
    assert [line['source_frame'] for line in lines
            if 'frame' in line] == list(range(num_frames))
    end = lines[-1]['end']
    assert (end['frames_read'], end['frames_processed'], end['stopped_by'],
            end['num_tracks']) == (num_frames, num_frames, stopped_by,
                                   len(entries))
    assert sorted(os.listdir(outs['masks'] / 'Annotations' / 'cam')) == [
        f'{i:05d}.png' for i in range(num_frames)
    ]
    assert (outs['masks'] / 'classes.json').exists()


def test_demo_keeps_the_outputs_of_a_stream_that_stalls(
        checkpoint, tmp_path, capsys):  # noqa: F811
    server = MJPEGServer([scripted_frame(i) for i in range(4)], stall=True)
    try:
        # FFmpeg's own read timeout (2 x 3 + 1 s) is far from the stall's
        status, outs = run_demo_on(server.url, tmp_path, '--checkpoint',
                                   checkpoint, '--timeout', '3')
    finally:
        server.close()
    assert status == video_demo.EXIT_STALLED == 3
    assert_outputs_hold(outs, 4, 'stalled')
    captured = capsys.readouterr()
    assert (f'warning: stream {server.url} delivered no frame for 3 s '
            '(after 4 frames); is it still streaming?; the outputs hold the '
            '4 frames processed (exit status 3)') in captured.err
    assert 'stopped by a stall (no frame for --timeout seconds)' in \
        captured.out


def test_demo_warns_when_a_network_stream_ends_early(
        checkpoint, tmp_path, capsys):  # noqa: F811
    server = MJPEGServer([scripted_frame(i) for i in range(5)])
    try:
        status, outs = run_demo_on(server.url, tmp_path, '--checkpoint',
                                   checkpoint, '--timeout', '20')
    finally:
        server.close()
    assert status == video_demo.EXIT_STREAM_ENDED == 4
    assert_outputs_hold(outs, 5, 'stream_ended')
    assert (f'warning: stream {server.url} ended early, after 5 frames read '
            '(5 processed): the server closed it') in capsys.readouterr().err


def test_demo_file_url_ends_normally(
        video, checkpoint, tmp_path, capsys):  # noqa: F811
    out_frames = tmp_path / 'r.jsonl'
    assert video_demo.main([
        video.as_uri(), CONFIG, '--checkpoint', checkpoint, '--out-frames',
        str(out_frames), '--drop-frames', 'none'
    ]) == video_demo.EXIT_FINISHED == 0
    end = read_jsonl(out_frames)[-1]['end']
    assert (end['frames_processed'], end['stopped_by']) == (5, 'end')
    assert 'warning' not in capsys.readouterr().err


def test_demo_stream_that_stalls_before_a_frame_is_an_error(
        monkeypatch, checkpoint, tmp_path):  # noqa: F811
    source = ScriptedLiveSource(1)  # frame 0 never comes
    monkeypatch.setattr(video_demo, 'open_frame_source',
                        lambda text, timeout: source)
    out_json = tmp_path / 'r.json'
    try:
        message = user_error(['5', CONFIG, '--checkpoint', checkpoint,
                              '--out-json', out_json, '--timeout', '0.3'])
    finally:
        source.open_gates(0, 0)
    assert message == ('error: camera 5 delivered no frame for 0.3 s (after '
                       '0 frames); is it still streaming?')
    assert not out_json.exists()


def user_error(argv):
    """The one-line message ``video_demo.main(argv)`` exits with."""
    with pytest.raises(SystemExit) as err:
        video_demo.main([str(a) for a in argv])
    message = err.value.code
    assert isinstance(message, str) and '\n' not in message, message
    return message


def test_demo_live_errors_are_one_line(tmp_path, capfd):
    out = tmp_path / 'r.json'
    port = closed_port()
    url = f'http://127.0.0.1:{port}/cam.mjpg'
    for source, words in [('99', 'error: camera 99 cannot be opened'),
                          (url, f'error: stream {url} cannot be opened')]:
        capfd.readouterr()
        assert user_error([source, CONFIG, '--out-json', out, '--timeout',
                           5]).startswith(words)
        # OpenCV's and FFmpeg's own messages are kept off the terminal
        assert capfd.readouterr().err == ''
        assert not out.exists()


def test_demo_show_without_a_display(monkeypatch):
    for name in ('DISPLAY', 'WAYLAND_DISPLAY'):
        monkeypatch.delenv(name, raising=False)
    last = user_error(['99', CONFIG, '--show'])
    # a headless OpenCV build says so; a GUI build finds no display
    assert last.startswith('error: --show: '), last
    assert ('headless' in last or 'neither $DISPLAY nor $WAYLAND_DISPLAY '
            'is set' in last), last
    assert 'camera 99' not in last  # refused before opening the camera


def test_show_on_a_display_that_is_not_there(monkeypatch):
    if opencv_gui().upper() == 'NONE':
        pytest.skip('headless OpenCV: see test_demo_show_without_a_display')
    monkeypatch.setenv('DISPLAY', ':987')
    with pytest.raises(NoDisplayError) as err:
        check_display()
    assert "cannot open a window on display ':987'" in str(err.value)
    assert '987' in str(err.value).split(': ', 1)[1]  # OpenCV's reason


class FakeWindow:
    """Stands in for the ``--show`` window; closed by the user after
    ``close_after`` frames."""
    close_after = 2
    shown = []

    def __init__(self, title):
        self.title = title

    def show(self, frame):
        self.shown.append(frame)
        return len(self.shown) < self.close_after

    def close(self):
        pass


def test_demo_window_closed_by_the_user_ends_the_run(
        monkeypatch, video, checkpoint, tmp_path, capsys):  # noqa: F811
    monkeypatch.setattr(video_demo, 'FrameWindow', FakeWindow)
    monkeypatch.setattr(FakeWindow, 'shown', [])
    out_json, out = tmp_path / 'r.json', tmp_path / 'r.mp4'
    video_demo.main([
        video.as_uri(), CONFIG, '--checkpoint', checkpoint, '--show',
        '--drop-frames', 'none', '--out-json', str(out_json), '--out',
        str(out)
    ])
    assert len(FakeWindow.shown) == 2
    assert all(len(e['segmentations']) == 2
               for e in json.load(open(out_json)))
    assert count_frames(str(out)) == (2, (64, 96))
    assert 'stopped by the user' in capsys.readouterr().out


class MJPEGServer:
    """A local HTTP server streaming ``frames`` as MJPEG
    (``multipart/x-mixed-replace``, what IP cameras serve); after them it
    closes the connection, or with ``stall=True`` keeps it open and sends
    nothing more (a stream that stops delivering)."""

    BOUNDARY = 'frameboundary'

    def __init__(self, frames, stall=False):
        import http.server
        self.jpegs = [cv2.imencode('.jpg', f)[1].tobytes() for f in frames]
        self.stall = stall
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):

            def do_GET(self):
                self.send_response(200)
                self.send_header(
                    'Content-Type', 'multipart/x-mixed-replace;boundary='
                    f'{server.BOUNDARY}')
                self.end_headers()
                for jpeg in server.jpegs:
                    self.wfile.write(
                        f'--{server.BOUNDARY}\r\nContent-Type: image/jpeg'
                        f'\r\nContent-Length: {len(jpeg)}\r\n\r\n'.encode()
                        + jpeg + b'\r\n')
                    self.wfile.flush()
                if server.stall:
                    server.release.wait(WAIT)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.url = (f'http://127.0.0.1:{self.httpd.server_address[1]}/'
                    'cam.mjpg')
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def closest_frame(image, candidates):
    """Index of the candidate nearest to a decoded (lossy) image."""
    return int(np.argmin([np.abs(image.astype(int) - c).mean()
                          for c in candidates]))


def test_http_mjpeg_stream():
    frames = [scripted_frame(i) for i in range(5)]
    server = MJPEGServer(frames)
    try:
        source = open_frame_source(server.url, timeout=WAIT)
        assert source.is_live and source.name == 'cam'
        reader = FrameReader(source, policy='none', timeout=WAIT,
                             name=source.description)
        got = list(reader)
    finally:
        server.close()
    # JPEG is lossy: each frame is nearest to the one sent at its index
    assert [index for index, _ in got] == [0, 1, 2, 3, 4]
    assert [closest_frame(frame, frames) for _, frame in got] == list(
        range(5))


def test_http_mjpeg_stream_that_stalls_times_out():
    server = MJPEGServer([scripted_frame(i) for i in range(2)], stall=True)
    try:
        source = open_frame_source(server.url, timeout=2)
        reader = FrameReader(source, policy='none', timeout=2,
                             name=source.description)
        seen = []
        with pytest.raises(StreamTimeoutError) as err:
            for index, _ in reader:
                seen.append(index)
    finally:
        server.close()
    assert seen == [0, 1]
    assert str(err.value).startswith(
        f'stream {server.url} delivered no frame for 2 s (after 2 frames)')
