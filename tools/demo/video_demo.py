"""Segment and track the instances of a video with a VIS model.

Usage:
    python tools/demo/video_demo.py INPUT CONFIG [--checkpoint CKPT]
        [--out OUT.mp4] [--out-json RESULTS.json] [--score-thr S]
        [--device D] [--video-id ID] [--cfg-options k=v ...]
        [--out-frames RESULTS.jsonl] [--show] [--max-frames N]
        [--drop-frames {none,oldest,newest}] [--queue-size Q]
        [--timeout S] [--out-masks DIR] [--codec {mp4v,avc1,h264}]

INPUT is a video file (e.g. mp4), a folder of frames (natural order:
``2.jpg`` before ``10.jpg``), a camera index (``0``) or a stream URL
(``rtsp://``, ``http(s)://``, ``file://``: anything OpenCV's FFmpeg
backend opens). Frames are streamed through the model one at a time
(memory does not grow with the video). ``--out`` writes the video with
masks, boxes, class names and track ids (one colour per id);
``--out-json`` writes the YouTube-VIS results of the video, as
``tools/test.py`` does (every prediction, whatever ``--score-thr``);
``--out-frames`` writes JSON Lines as results become final, one line per
frame and per ended track (see ``mmvis_clip.apis.results_stream_writer``);
``--show`` shows the rendered frames in a window (q or Esc stops);
``--out-masks DIR`` writes the results as per-frame instance-id PNGs
``DIR/Annotations/<video>/<frame>.png`` (named like the frames, or by
frame index ``00000.png`` for a video file, camera or URL) and the class
map ``DIR/classes.json``, the layout ``frames2ytvis.py`` reads: the tracks
of ``--out-json`` scoring at least ``--score-thr``, ids 1, 2, ... in its
order, overlaps to the higher score (see
``mmvis_clip.structures.vis_results_masks``); DIR must be new
or empty.

``--out`` plays in the source's time: it is written at the source's fps
and, when frames were dropped, each processed frame is held (repeated)
until the next processed one, so the video lasts as long as the stream
did (from the first to the last processed frame) and its frame ``j`` shows
the newest result at source frame ``first + j``. A frame of odd width or
height is padded with a black column or row to the even size mp4 needs
(never cut). ``--codec`` picks the codec: ``mp4v`` (the default, every
OpenCV writes it; browsers do not play it) or ``avc1`` / ``h264`` (H.264,
only where the installed OpenCV's FFmpeg has an H.264 encoder, else one
``error:`` line).

Frames are read by a thread into a buffer of ``--queue-size`` frames; when
the model is slower than the source, ``--drop-frames`` says what to drop
when it is full: ``none`` (the default for files and folders: every frame
is processed), ``oldest`` (the default for cameras and URLs: the model
always gets the newest frame) or ``newest``. The frames read, processed
and dropped are reported at the end and in ``--out-frames``. A camera or
URL that delivers no frame for ``--timeout`` seconds has stalled: the run
ends, the outputs hold the frames processed so far and the exit status is
3 (a stall before the first frame is an error). A camera or network stream
that ends (the server closed it, the camera stopped) ended early: a
warning names the frames read, the outputs are written, exit status 4. The
first Ctrl-C ends any run (a file, a folder, a camera, a URL) after the
frame being processed: every output is written with the frames processed,
``--out-frames`` ends with an ``end`` line with ``stopped_by``
``interrupted``, a warning names the frames processed, exit status 0. A
second Ctrl-C aborts: outputs not yet written are not written (none is
left partial), one line, exit status 130, at once (the reader thread is
not waited for); further ones are ignored while it cleans up.

Exit status: 0 the run finished (the end of a file, folder or ``file://``
URL, ``--max-frames``, q / Esc, a first Ctrl-C), 1 an error (one
``error:`` line, see below), 2 bad options, 3 a live stream stalled
(``--timeout``), 4 a live stream ended early, 130 aborted by a second
Ctrl-C (or a Ctrl-C before the first frame); with 3 and 4 every output is
written and the last line of ``--out-frames`` is an ``end`` line naming
the reason (``stopped_by``: ``stalled`` or ``stream_ended``).

Outputs are written atomically (but ``--out-frames``, a stream written
line by line), and never over what the demo reads: an output that is the
input video, the frame folder or a file in it, the config or the
checkpoint is refused, as are two outputs that are one file. A user's
mistake (a missing or unreadable input, frames of different sizes, a
broken checkpoint, a camera or URL that cannot be opened, ...) ends in one
``error: ...`` line naming the file or source, exit status 1.
"""
# a Ctrl-C while the stack loads (seconds): one line, nothing written
import os  # isort:skip
import signal  # isort:skip
import sys  # isort:skip
signal.signal(
    signal.SIGINT, lambda *_: (sys.stderr.write(
        '\naborted by Ctrl-C while starting: nothing was written\n'),
                                os._exit(128 + signal.SIGINT)))
# first, before torch loads: CPU threads sized to the free cores
import mmvis_clip  # noqa: F401  isort:skip  (also registers modules)
import argparse
import math
import os.path as osp
import threading
import warnings
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

from mmengine.config import DictAction
from tqdm import tqdm

from mmvis_clip.apis import (FrameSource, VideoSegmenter, check_device,
                             init_vis_model)
from mmvis_clip.apis.frame_reader import (DROP_POLICIES, FrameReader,
                                          StreamTimeoutError)
from mmvis_clip.apis.live_frame_source import open_frame_source
from mmvis_clip.apis.results_stream_writer import ResultsStreamWriter
from mmvis_clip.structures import (VideoFrames, VideoInfo, frame_stems,
                                   write_results_as_id_masks)
from mmvis_clip.structures.rle import encode_masks
from mmvis_clip.structures.video_results import VideoResults
from mmvis_clip.utils.atomic_io import (dump_json_atomic, refuse_output_folder,
                                        refuse_overwriting_inputs)
from mmvis_clip.utils.user_errors import UserError, exit_on_user_error
from mmvis_clip.visualization import (AtomicVideoWriter, SourceTimeVideoWriter,
                                      VideoRenderer, check_video_codec)
from mmvis_clip.visualization.frame_window import FrameWindow, NoDisplayError
from mmvis_clip.visualization.video_codecs import CODEC_ALIASES, VIDEO_CODECS

# started: Ctrl-C is main()'s (KeyboardInterrupt)
signal.signal(signal.SIGINT, signal.default_int_handler)

#: Exit statuses (1: an error, 2: bad options, as argparse exits; 130:
#: aborted by Ctrl-C, 128 + SIGINT as shells report it).
EXIT_FINISHED, EXIT_STALLED, EXIT_STREAM_ENDED = 0, 3, 4
EXIT_ABORTED = 128 + signal.SIGINT

EPILOG = ('exit status: 0 finished (the end of a file, folder or file:// '
          'URL, --max-frames, q/Esc, a first Ctrl-C: the outputs hold the '
          'frames processed), 1 error, 2 bad options, 3 a camera or URL '
          'stalled (no frame for --timeout s), 4 a camera or network stream '
          'ended early, 130 aborted by a second Ctrl-C (nothing more '
          'written); with 3 and 4 the outputs hold the frames processed and '
          '--out-frames ends with an end line naming the reason')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Video instance segmentation demo', epilog=EPILOG)
    parser.add_argument(
        'input',
        help='video file, folder of frames, camera index (e.g. 0) or '
        'stream URL (rtsp://, http(s)://, file://)')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--checkpoint', help='trained checkpoint (default: random weights)')
    parser.add_argument(
        '--out',
        help='output video (.mp4) at the source fps; with dropped frames '
        'each processed frame is held until the next one (the video lasts '
        'as long as the stream); odd sizes are padded to even')
    parser.add_argument(
        '--codec',
        default='mp4v',
        choices=list(VIDEO_CODECS) + list(CODEC_ALIASES),
        help='--out codec: mp4v (default, not played by browsers) or '
        'avc1/h264 (H.264, where the installed OpenCV can write it)')
    parser.add_argument(
        '--out-json', help='output YouTube-VIS results json of the video')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='draw instances scoring at least this; --out-masks: write '
        'the tracks scoring at least this (default 0.3)')
    parser.add_argument(
        '--device',
        help='e.g. cpu, cuda:1 (default: cuda:0 when CUDA is available, '
        'else cpu)')
    parser.add_argument(
        '--video-id',
        type=int,
        default=1,
        help='video_id written in the json (default 1)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'model.tracker.num_frames_retain=10')
    parser.add_argument(
        '--out-masks',
        help='new or empty folder for the results as per-frame '
        'instance-id PNGs and classes.json (the layout frames2ytvis.py '
        'reads)')
    parser.add_argument(
        '--out-frames',
        help='output JSON Lines, written as results become final (one '
        'line per frame and per ended track)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='show the rendered frames in a window (q or Esc stops)')
    parser.add_argument(
        '--max-frames',
        type=int,
        help='stop after this many frames went through the model')
    parser.add_argument(
        '--drop-frames',
        choices=DROP_POLICIES,
        help='frames to drop when the model is slower than the source and '
        'the buffer is full (default: none for files and folders, oldest '
        'for cameras and URLs)')
    parser.add_argument(
        '--queue-size',
        type=int,
        default=1,
        help='frames buffered between the reader and the model (default 1)')
    parser.add_argument(
        '--timeout',
        type=float,
        default=10.0,
        help='seconds a camera or URL may take to open or to deliver a '
        'frame (default 10); a stall ends the run with the outputs '
        'written, exit status 3')
    args = parser.parse_args(argv)
    if not (args.out or args.out_json or args.out_frames or args.show
            or args.out_masks):
        parser.error('nothing to do: give --out, --out-json, --out-frames, '
                     '--out-masks and/or --show')
    if args.max_frames is not None and args.max_frames < 1:
        parser.error(f'--max-frames must be >= 1, got {args.max_frames}')
    if args.queue_size < 1:
        parser.error(f'--queue-size must be >= 1, got {args.queue_size}')
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error(f'--timeout must be > 0 seconds, got {args.timeout}')
    if args.out and osp.splitext(args.out)[1].lower() != '.mp4':
        parser.error(f'--out {args.out}: the output video must be .mp4')
    if not (math.isfinite(args.score_thr) and 0 <= args.score_thr <= 1):
        parser.error(f'--score-thr must be in [0, 1], got {args.score_thr}')
    try:
        args.device = check_device(args.device, '--device')
    except UserError as err:
        parser.error(str(err))
    return args


def check_outputs(args, source: FrameSource) -> None:
    """Refuse outputs that would overwrite what the demo reads."""
    if source.frame_files is not None:
        inputs = [('input frame folder', args.input)]
        folders = [('input frame folder', args.input)]
    elif not source.is_live:
        inputs, folders = [('input video', args.input)], []
    else:
        parts = urlsplit(args.input) if isinstance(source.source,
                                                   str) else None
        inputs, folders = [], []
        if parts is not None and parts.scheme.lower() == 'file':
            inputs.append(('input video', unquote(parts.path)))
    inputs.append(('config', args.config))
    if args.checkpoint:
        inputs.append(('checkpoint', args.checkpoint))
    outputs = {
        '--out': args.out,
        '--out-json': args.out_json,
        '--out-frames': args.out_frames
    }
    refuse_overwriting_inputs(outputs, inputs, folders)
    if args.out_masks:
        refuse_output_folder('--out-masks', args.out_masks, inputs, outputs)


def write_out_masks(args, source, results, source_indices, frame_size,
                    dataset_meta) -> dict:
    """``--out-masks``: the results of the processed frames (their indices
    in the source) as instance-id PNGs; returns the writer's summary."""
    files = source.frame_files
    if files is None:
        stems = [f'{index:05d}' for index in source_indices]
    else:
        stems = frame_stems([files[i] for i in source_indices],
                            len(source_indices))
    classes = dataset_meta['classes']
    cat_ids = dataset_meta.get('cat_ids') or range(1, len(classes) + 1)
    height, width = frame_size or (1, 1)
    video = VideoFrames(
        VideoInfo(args.video_id, height, width, len(source_indices)),
        source.name, tuple(stems))
    return write_results_as_id_masks(
        results, [video],
        [dict(id=int(i), name=n) for i, n in zip(cat_ids, classes)],
        args.out_masks, args.score_thr)


def main(argv=None):
    """Run the demo; returns the exit status (:data:`EXIT_STATUS`, or
    :data:`EXIT_ABORTED` after one line when Ctrl-C aborted it)."""
    args = parse_args(argv)
    try:
        with exit_on_user_error():
            return run(args)
    except KeyboardInterrupt:
        print('\naborted by Ctrl-C: the outputs not yet written are not '
              'written, none is left partial (an --out-frames file has no '
              'end line)', file=sys.stderr)
        return EXIT_ABORTED


#: How a run ended (``stopped_by`` of ``--out-frames``' end line), as
#: the last report line says it.
STOP_REASONS = dict(
    end='the end of the input',
    max_frames='--max-frames',
    user='the user',
    interrupted='Ctrl-C',
    stalled='a stall (no frame for --timeout seconds)',
    stream_ended='the stream ending early')

#: Exit status of a run by how it ended.
EXIT_STATUS = dict(
    end=EXIT_FINISHED,
    max_frames=EXIT_FINISHED,
    user=EXIT_FINISHED,
    interrupted=EXIT_FINISHED,
    stalled=EXIT_STALLED,
    stream_ended=EXIT_STREAM_ENDED)


def ends_early(source) -> bool:
    """Whether the end of ``source`` is an early end: a camera or a
    network stream (a ``file://`` URL, a file or a folder ends
    normally)."""
    if not source.is_live:
        return False
    if not isinstance(source.source, str):
        return True  # a camera
    return urlsplit(source.source).scheme.lower() != 'file'


@contextmanager
def stop_on_first_interrupt(stop: threading.Event,
                            interrupted: threading.Event = None):
    """While inside: the first Ctrl-C sets ``stop`` and ``interrupted``
    (the run ends after the current frame, writing its outputs), a second
    one raises ``KeyboardInterrupt`` and further ones are ignored (the
    abort cleans up undisturbed); on leaving, the previous handler is
    back."""
    interrupted = interrupted or threading.Event()

    def handle(signum, frame):
        if interrupted.is_set():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            raise KeyboardInterrupt
        interrupted.set()
        stop.set()
        print('\nstopping: the outputs are written after this frame '
              '(Ctrl-C again to abort without writing them)',
              file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def open_window(title: str) -> FrameWindow:
    """The ``--show`` window, or one line saying why there is none."""
    try:
        return FrameWindow(title)
    except NoDisplayError as err:
        raise NoDisplayError(f'--show: {err}; run without --show (the '
                             'outputs need no display)') from None


def run(args) -> int:
    """The demo on parsed arguments (user errors raise, see
    :func:`main`)."""
    # fail early where the codec cannot be written or no window opened
    fourcc = check_video_codec(args.codec) if args.out else None
    window = open_window(args.input) if args.show else None
    stop, interrupted = threading.Event(), threading.Event()
    try:
        with stop_on_first_interrupt(stop, interrupted):
            source = open_frame_source(args.input, timeout=args.timeout)
            try:
                return run_on_source(args, source, window, fourcc, stop,
                                     interrupted)
            finally:
                if source.is_live:
                    source.release()  # if the run failed before reading
    finally:
        if window is not None:
            window.close()


def run_on_source(args, source, window, fourcc=None, stop=None,
                  interrupted=None) -> int:
    """:func:`run` on the opened ``source`` (and ``--show`` window).

    Args:
        args (argparse.Namespace): The parsed arguments.
        source (FrameSource | LiveFrameSource): The opened input.
        window (FrameWindow, optional): The ``--show`` window.
        fourcc (str, optional): The ``--out`` codec, checked.
        stop (threading.Event, optional): Set to end the run after the
            current frame (a Ctrl-C, the window closed).
        interrupted (threading.Event, optional): Set by a Ctrl-C (see
            :func:`stop_on_first_interrupt`); before the first frame it
            aborts the run (``KeyboardInterrupt``, nothing is written).

    Returns:
        int: The exit status (:data:`EXIT_STATUS` of how the run ended).
    """
    check_outputs(args, source)
    model = init_vis_model(
        args.config,
        args.checkpoint,
        device=args.device,
        cfg_options=args.cfg_options)
    if args.checkpoint is None:
        warnings.warn(
            'no --checkpoint: the model weights are RANDOM, the output '
            'shows the pipeline, not a trained model. `make demo` trains '
            'the synthetic model and prints its checkpoint path.')
    stop = stop or threading.Event()  # Ctrl-C or the window closed
    interrupted = interrupted or threading.Event()
    if interrupted.is_set():  # before the first frame: nothing to keep
        raise KeyboardInterrupt
    segmenter = VideoSegmenter(model)
    classes = model.dataset_meta.get('classes')
    renderer = VideoRenderer(classes=classes, score_thr=args.score_thr)
    # the segmenter counts the tracks' votes; their summaries, by id
    video_results = VideoResults(
        video_id=args.video_id,
        cat_ids=model.dataset_meta.get('cat_ids'),
        tally=False)
    track_summaries = dict()
    policy = args.drop_frames or ('oldest' if source.is_live else 'none')
    reader = FrameReader(
        source,
        policy=policy,
        queue_size=args.queue_size,
        timeout=args.timeout if source.is_live else None,
        max_frames=args.max_frames,
        name=source.description)
    writer = SourceTimeVideoWriter(
        AtomicVideoWriter(args.out, fps=source.fps,
                          fourcc=fourcc or 'mp4v')) if args.out else None
    stream = ResultsStreamWriter(
        args.out_frames, video_results.category_id,
        dict(video=source.name, video_id=args.video_id,
             source=source.description, fps=source.fps)) \
        if args.out_frames else None
    keep_frames = writer is not None or window is not None
    pending = dict()  # frames waiting for their result (clip models)

    def emit(results):
        for result in results:
            source_index, frame = pending.pop(result.frame_index)
            if keep_frames:
                drawn = renderer.draw(frame, result)
                if writer is not None:
                    writer.write(drawn, source_index)
                if window is not None and not window.show(drawn):
                    stop.set()
            rles = encode_masks(result.masks)  # once, for both outputs
            video_results.add(result.frame_index, result.instances_id,
                              result.labels, result.scores, rles)
            if stream is not None:
                stream.frame(result, source_index, rles)

    segmenter.reset()
    num_frames = 0
    source_indices, frame_size = [], None  # of the processed frames
    total = source.num_frames
    if args.max_frames is not None:
        total = args.max_frames if total is None else min(
            total, args.max_frames)
    stall = None  # the StreamTimeoutError of a stalled stream
    stopped = False  # the loop ended by stop (Ctrl-C, the window)
    try:
        with tqdm(total=total, unit='frame', desc=source.name) as progress:
            try:
                for source_index, frame in reader:
                    pending[num_frames] = (source_index,
                                           frame if keep_frames else None)
                    source_indices.append(source_index)
                    frame_size = frame_size or frame.shape[:2]
                    emit(segmenter.push(frame))
                    # bounds the kept summaries on endless streams
                    ended = segmenter.pop_finished_summaries()
                    track_summaries.update(ended)
                    if stream is not None:
                        stream.tracks(ended)
                    num_frames += 1
                    progress.update()
                    if policy != 'none':
                        progress.set_postfix(dropped=reader.num_dropped)
                    if stop.is_set():
                        stopped = True
                        break
            except StreamTimeoutError as err:
                if num_frames == 0:
                    raise  # nothing to keep: an error
                stall = err  # keep what was processed
            # a stalled source is likely blocked in a read: do not wait
            reader.close(join_timeout=0 if stall else 5.0)
            remaining, summaries = segmenter.finish()
            emit(remaining)
            track_summaries.update(summaries)
        if pending:
            raise RuntimeError(f'{type(segmenter).__name__} gave no result '
                               f'for frames {sorted(pending)}')
        stats = reader.stats()
        if stopped:
            stats['stopped_by'] = 'interrupted' if interrupted.is_set() \
                else 'user'
        elif stall is not None:
            stats['stopped_by'] = 'stalled'
        elif num_frames == args.max_frames:
            stats['stopped_by'] = 'max_frames'
        elif ends_early(source):
            stats['stopped_by'] = 'stream_ended'
        else:
            stats['stopped_by'] = 'end'
        stats['num_tracks'] = video_results.num_tracks
        if stream is not None:
            stream.tracks(summaries)
            stream.end(stats)
        if writer is not None:
            writer.close()
    except BaseException:
        reader.close(join_timeout=0)
        if writer is not None:
            writer.abort()
        raise
    finally:
        if stream is not None:
            stream.close()
    results = video_results.results(num_frames, track_summaries)
    if args.out_json:
        dump_json_atomic(results, args.out_json)
    if args.out_masks:
        masks = write_out_masks(args, source, results, source_indices,
                                frame_size, model.dataset_meta)
        print(f'--out-masks: {masks["instances"]} tracks scoring >= '
              f'{args.score_thr} ({masks["below_thr"]} below, '
              f'{masks["hidden"]} covered by higher-scoring tracks in every '
              'frame)')
    weights = args.checkpoint or 'random weights'
    print(f'{num_frames} frames, {video_results.num_tracks} tracks '
          f'({weights}, device {segmenter.device})')
    unprocessed = (f', {stats["frames_unprocessed"]} unprocessed at the '
                   'stop' if stats['frames_unprocessed'] else '')
    print(f'{source.description}: {stats["frames_read"]} frames read, '
          f'{stats["frames_processed"]} processed, '
          f'{stats["frames_dropped"]} dropped (--drop-frames {policy}, '
          f'--queue-size {args.queue_size}){unprocessed}; stopped by '
          f'{STOP_REASONS[stats["stopped_by"]]}')
    if writer is not None:
        video = writer.writer
        print(f'--out: {video.num_frames} frames at {video.fps:g} fps '
              f'({video.num_frames / video.fps:.2f} s, source frames '
              f'{writer.first_index} to {writer.last_index}; '
              f'{video.fourcc})')
        if video.padded:
            print(f'--out: frames of {video.frame_size[0]}x'
                  f'{video.frame_size[1]} padded to {video.size[0]}x'
                  f'{video.size[1]} (a black column/row at the right/bottom:'
                  ' mp4 needs even sizes)')
    for path in (args.out, args.out_json, args.out_frames, args.out_masks):
        if path:
            print(f'written: {path}')
    if stall is not None:
        print(f'warning: {stall}; the outputs hold the {num_frames} frames '
              f'processed (exit status {EXIT_STALLED})', file=sys.stderr)
    elif stats['stopped_by'] == 'interrupted':
        of = f' of {total}' if total is not None else ''
        print(f'warning: interrupted by Ctrl-C after {num_frames}{of} '
              f'frames: the outputs hold the {num_frames} frames processed '
              f'(exit status {EXIT_FINISHED})', file=sys.stderr)
    elif stats['stopped_by'] == 'stream_ended':
        print(f'warning: {source.description} ended early, after '
              f'{stats["frames_read"]} frames read ({num_frames} '
              'processed): the server closed it or the camera stopped; the '
              'outputs hold the processed frames (exit status '
              f'{EXIT_STREAM_ENDED})', file=sys.stderr)
    return EXIT_STATUS[stats['stopped_by']]


if __name__ == '__main__':
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if status == EXIT_ABORTED:
        # at once: the reader thread may be inside OpenCV, and waiting for
        # it or finalising the interpreter beside it can abort the process
        os._exit(status)
    # a Ctrl-C now, with every output written, would only interrupt the
    # interpreter's shutdown
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(status)
