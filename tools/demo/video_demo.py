"""Segment and track the instances of a video with a VIS model.

Usage:
    python tools/demo/video_demo.py INPUT CONFIG [--checkpoint CKPT]
        [--out OUT.mp4] [--out-json RESULTS.json] [--score-thr S]
        [--device D] [--video-id ID] [--cfg-options k=v ...]

INPUT is a video file (e.g. mp4) or a folder of frames (natural order:
``2.jpg`` before ``10.jpg``). Frames are streamed through the model one at
a time (memory does not grow with the video). ``--out`` writes the video
with masks, boxes, class names and track ids (one colour per id);
``--out-json`` writes the YouTube-VIS results of the video, as
``tools/test.py`` does (every prediction, whatever ``--score-thr``).

Outputs are written atomically, and never over what the demo reads: an
output that is the input video, the frame folder or a file in it, the
config or the checkpoint is refused, as are two outputs that are one file.
A user's mistake (a missing or unreadable input, frames of different
sizes, a broken checkpoint, ...) ends in one ``error: ...`` line naming
the file, exit status 1.
"""
import argparse
import math
import os.path as osp
import sys
import warnings

import torch
from mmengine.config import DictAction
from tqdm import tqdm

from mmvis_clip.apis import FrameSource, VideoSegmenter, init_vis_model
from mmvis_clip.apis.vis_results_collector import VISResultsCollector
from mmvis_clip.utils.atomic_io import (dump_json_atomic,
                                        refuse_overwriting_inputs)
from mmvis_clip.utils.user_errors import exit_on_user_error
from mmvis_clip.visualization import AtomicVideoWriter, VideoRenderer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Video instance segmentation demo')
    parser.add_argument('input', help='video file or folder of frames')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--checkpoint', help='trained checkpoint (default: random weights)')
    parser.add_argument('--out', help='output video (.mp4)')
    parser.add_argument(
        '--out-json', help='output YouTube-VIS results json of the video')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='draw instances scoring at least this (default 0.3)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
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
    args = parser.parse_args(argv)
    if not args.out and not args.out_json:
        parser.error('nothing to write: give --out and/or --out-json')
    if args.out and osp.splitext(args.out)[1].lower() != '.mp4':
        parser.error(f'--out {args.out}: the output video must be .mp4')
    if not (math.isfinite(args.score_thr) and 0 <= args.score_thr <= 1):
        parser.error(f'--score-thr must be in [0, 1], got {args.score_thr}')
    try:
        device = torch.device(args.device)
    except RuntimeError as err:
        parser.error(f'--device {args.device}: {err}')
    if device.type == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available here')
    return args


def check_outputs(args, source: FrameSource) -> None:
    """Refuse outputs that would overwrite what the demo reads."""
    if source.frame_files is not None:
        inputs = [('input frame folder', args.input)]
        folders = [('input frame folder', args.input)]
    else:
        inputs, folders = [('input video', args.input)], []
    inputs.append(('config', args.config))
    if args.checkpoint:
        inputs.append(('checkpoint', args.checkpoint))
    refuse_overwriting_inputs({
        '--out': args.out,
        '--out-json': args.out_json
    }, inputs, folders)


def main(argv=None):
    args = parse_args(argv)
    with exit_on_user_error():
        return run(args)


def run(args) -> int:
    """The demo on parsed arguments (user errors raise, see
    :func:`main`)."""
    source = FrameSource(args.input)  # fails early on a bad input
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
    segmenter = VideoSegmenter.from_model(model)
    classes = model.dataset_meta.get('classes')
    renderer = VideoRenderer(classes=classes, score_thr=args.score_thr)
    collector = VISResultsCollector(
        video_id=args.video_id, cat_ids=model.dataset_meta.get('cat_ids'))
    writer = AtomicVideoWriter(args.out, fps=source.fps) if args.out \
        else None
    pending = dict()  # frames waiting for their result (clip models)

    def emit(results):
        for result in results:
            frame = pending.pop(result.frame_index)
            if writer is not None:
                writer.write(renderer.draw(frame, result))
            collector.add(result)

    segmenter.reset()
    num_frames = 0
    try:
        with tqdm(total=source.num_frames, unit='frame',
                  desc=source.name) as progress:
            for frame in source:
                pending[num_frames] = frame if writer is not None else None
                emit(segmenter.push(frame))
                num_frames += 1
                progress.update()
            remaining, _ = segmenter.finish()
            emit(remaining)
        if pending:
            raise RuntimeError(f'{type(segmenter).__name__} gave no result '
                               f'for frames {sorted(pending)}')
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if args.out_json:
        dump_json_atomic(collector.results(num_frames), args.out_json)
    weights = args.checkpoint or 'random weights'
    print(f'{num_frames} frames, {len(collector.records)} tracks '
          f'({weights}, device {segmenter.device})')
    for path in (args.out, args.out_json):
        if path:
            print(f'written: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
