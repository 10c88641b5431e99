"""Frame rate, per-stage time and memory of VIS models on a frame stream.

Usage:
    python tools/analysis/benchmark_vis.py CONFIG [--checkpoint CKPT]
        [--frames N] [--size H W] [--input VIDEO_OR_FOLDER]
        [--compare OTHER_CONFIG ...] [--compare-checkpoints CKPT ...]
        [--long-video] [--long-frames N] [--long-size H W]
        [--device D] [--warmup N] [--score-thr X]

Frames are pushed one at a time through the streaming API
(:class:`mmvis_clip.apis.VideoSegmenter`), as the demo does, and every
result is encoded to RLE (what writing results costs). Frames are resized
to ``--size`` (the original frame size; the config's test pipeline then
resizes them for the model); they come from ``--input``, else from the
config's test images when present, else are random.

Frames/s is measured in a pass with no stage recorder (one device
synchronisation at its start and end). Stages are timed in a second pass
over the same frames, under :func:`record_inference_stages`: the stream
API marks pre-processing (test pipeline, data pre-processor) and the
model's ``step``, each model marks its own stages inside it
(:func:`inference_stage`), this file the RLE encoding. Time in a stage
entered inside another counts for the inner one only; every stage boundary
synchronises the device, so that pass is slower. "other model code" is the
model's ``step`` outside its marked stages (box decoding, NMS, ...).
MaskTrack R-CNN's stages are its networks' forward passes (mmdet's
``predict`` cannot be marked inside): its box decoding, NMS, mask pasting
and track matching count as other model code. With ``--compare`` each
config runs in its own process, so that peak memory is per config.
``--long-video`` streams ``--long-frames`` frames and reports memory and
the tracker's state at 10%, 50% and 100% of the stream.
"""
# first, before torch loads: CPU threads sized to the free cores
import mmvis_clip  # noqa: F401  isort:skip  (also registers modules)
import argparse
import json
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np
import torch
from mmengine.config import Config
from tqdm import tqdm

from mmvis_clip.apis import (FrameSource, VideoSegmenter, init_vis_model,
                             natural_sort_key)
from mmvis_clip.apis.frame_source import list_frame_files
from mmvis_clip.apis.stream_pipeline import stream_inputs
from mmvis_clip.models.utils.inference_stages import (inference_stage,
                                                      record_inference_stages)
from mmvis_clip.structures.rle import encode_masks
from mmvis_clip.utils.cpu_threads import (applied_cpu_threads,
                                          describe_cpu_threads)
from mmvis_clip.utils.machine_load import (describe_machine_load,
                                           measure_machine_load)

#: Model stages, as the models mark them (:func:`inference_stage`).
MODEL_STAGES = ('backbone', 'neck', 'heads', 'mask', 'tracking')

#: Rows of the stage table, in order.
STAGES = ('pre-processing', ) + MODEL_STAGES + (
    'other model code', 'post-processing (to RLE)')


class StageTimer:
    """A recorder of :func:`record_inference_stages`: the wall time spent
    in each stage but not in a stage entered inside it (self time).

    Stage times never overlap: they sum to the time spent in the outermost
    stages.

    Args:
        clock (callable): Returns seconds. Defaults to
            :func:`time.perf_counter`.
        sync (callable, optional): Called before each clock reading (e.g.
            ``torch.cuda.synchronize``) so that GPU work is counted.
    """

    def __init__(self,
                 clock: Callable[[], float] = time.perf_counter,
                 sync: Optional[Callable[[], None]] = None) -> None:
        self.clock = clock
        self.sync = sync
        self.totals: Dict[str, float] = defaultdict(float)
        self._open: List[str] = []  # open stages, innermost last
        self._since = 0.0  # start of the innermost stage's current span

    def now(self) -> float:
        """Seconds of the clock, after the device sync if any."""
        if self.sync is not None:
            self.sync()
        return self.clock()

    def _switch(self) -> float:
        """End the innermost open stage's current span; returns now."""
        now = self.now()
        if self._open:
            self.totals[self._open[-1]] += now - self._since
        self._since = now
        return now

    def enter(self, stage: str) -> None:
        """Open ``stage`` inside the open ones."""
        self._switch()
        self._open.append(stage)

    def exit(self, stage: str) -> None:
        """Close ``stage``, the innermost open one.

        Raises:
            RuntimeError: If ``stage`` is not the innermost open stage.
        """
        if not self._open or self._open[-1] != stage:
            raise RuntimeError(f'exit({stage!r}) but the open stages are '
                               f'{self._open}')
        self._switch()
        self._open.pop()

    def reset(self) -> None:
        """Forget the totals."""
        self.totals = defaultdict(float)


# ----------------------------------------------------------------------
# machine, memory and frames
# ----------------------------------------------------------------------
def machine_description(device: torch.device) -> str:
    if device.type == 'cuda':
        return (f'GPU {torch.cuda.get_device_name(device)}, torch '
                f'{torch.__version__}, CUDA {torch.version.cuda}')
    cpu = platform.processor() or 'unknown CPU'
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    return (f'CPU {cpu}, {os.cpu_count()} cores, torch threads '
            f'{torch.get_num_threads()}, torch {torch.__version__}')


def current_rss_mb() -> Optional[float]:
    """Resident memory now (Linux /proc), or None where unavailable."""
    try:
        with open('/proc/self/statm') as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process (getrusage)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == 'darwin' else peak / 2**10


def config_image_files(cfg) -> List[str]:
    """Frame files under the config's test image folder, video folders and
    frames in natural order (empty if the folder does not exist)."""
    try:
        dataset = cfg.test_dataloader.dataset
        folder = osp.join(dataset.get('data_root', '') or '',
                          dataset.data_prefix.img_path)
    except (AttributeError, KeyError):
        return []
    if not osp.isdir(folder):
        return []
    files = []
    for name in sorted(os.listdir(folder), key=natural_sort_key):
        sub = osp.join(folder, name)
        if osp.isdir(sub):
            try:
                files.extend(list_frame_files(sub))
            except FileNotFoundError:
                continue
    return files


def make_frames(num: int, size, input_path: Optional[str], cfg) -> tuple:
    """``num`` (H, W, 3) uint8 frames of ``size`` and where they come from.

    Frames repeat cyclically when the source has fewer.
    """
    height, width = size
    if input_path:
        source, label = list(FrameSource(input_path)), input_path
    else:
        files = config_image_files(cfg)
        if files:
            files = files[:num]
            source = [cv2.imread(f) for f in files]
            label = (f'{len(files)} test images of the config under '
                     f'{osp.dirname(osp.dirname(files[0]))}')
        else:
            rng = np.random.default_rng(0)
            source = [
                rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
                for _ in range(min(num, 16))
            ]
            label = 'random frames (no test images found)'
    frames = [
        cv2.resize(source[i % len(source)], (width, height),
                   interpolation=cv2.INTER_LINEAR) for i in range(num)
    ]
    return frames, label


# ----------------------------------------------------------------------
# measurement
# ----------------------------------------------------------------------
def encode_results(results) -> int:
    """RLE-encode the results' masks (stage ``'rle'``); returns
    #instances."""
    num = 0
    with inference_stage('rle'):
        for result in results:
            encode_masks(result.masks)
            num += len(result)
    return num


def tracker_state(segmenter: VideoSegmenter) -> dict:
    state = segmenter.state_size()
    state['rss_mb'] = current_rss_mb()
    state['peak_rss_mb'] = peak_rss_mb()
    if segmenter.device.type == 'cuda':
        state['cuda_allocated_mb'] = torch.cuda.memory_allocated(
            segmenter.device) / 2**20
    return state


def device_sync(device: torch.device) -> Optional[Callable[[], None]]:
    """Waits for ``device``'s queued work (None on the CPU)."""
    if device.type == 'cuda':
        return lambda: torch.cuda.synchronize(device)
    return None


def score_thr_options(config: str, score_thr: Optional[float]) -> dict:
    """``cfg_options`` setting the detection score threshold of the
    config's model, wherever its kind of model keeps it."""
    if score_thr is None:
        return dict()
    model = Config.fromfile(config).model
    if 'detector' not in model:  # CiCo
        return {'model.test_cfg.score_thr': score_thr}
    if 'rcnn' in model.detector.get('test_cfg', {}):  # MaskTrack R-CNN
        return {'model.detector.test_cfg.rcnn.score_thr': score_thr}
    return {'model.detector.test_cfg.score_thr': score_thr}  # STC


def measure(config: str, checkpoint: Optional[str], args) -> dict:
    """Benchmark one config; returns a json-able dict."""
    model = init_vis_model(
        config,
        checkpoint,
        device=args.device,
        cfg_options=score_thr_options(config, args.score_thr))
    return run_measurement(config, checkpoint, args, model,
                           VideoSegmenter(model))


def stream(segmenter: VideoSegmenter, frames: List[np.ndarray],
           desc: str) -> int:
    """Push ``frames`` as one video and encode every result; returns the
    number of instances."""
    segmenter.reset()
    num = 0
    for frame in tqdm(frames, desc=desc, unit='frame', file=sys.stderr):
        num += encode_results(segmenter.push(frame))
    return num + encode_results(segmenter.finish()[0])


def model_input_shape(segmenter: VideoSegmenter, frame: np.ndarray) -> list:
    """(h, w) of ``frame`` after the segmenter's test pipeline."""
    data = segmenter.pipeline(stream_inputs([frame], [0]))
    return list(data['inputs'].shape[-2:])


def run_measurement(config, checkpoint, args, model, segmenter) -> dict:
    """Warm up, then two passes over the timed frames: frames/s with no
    recorder, then the stages with one."""
    device = segmenter.device
    frames, frames_from = make_frames(args.warmup + args.frames, args.size,
                                      args.input, model.cfg)
    name = osp.basename(config)
    timer = StageTimer(sync=device_sync(device))
    # pass 1: frames/s, no recorder and no synchronisation but at its ends
    stream(segmenter, frames[:args.warmup], f'{name} warm-up')
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    start = timer.now()
    num_instances = stream(segmenter, frames[args.warmup:], f'{name} frames/s')
    total = timer.now() - start
    if device.type == 'cuda':
        peak = (torch.cuda.max_memory_allocated(device) / 2**20,
                'CUDA max_memory_allocated')
    else:
        peak = (peak_rss_mb(), 'process peak RSS, getrusage')

    # pass 2: stages, as the stream API and the model mark them
    with record_inference_stages(timer):
        start = timer.now()
        stream(segmenter, frames[args.warmup:], f'{name} stages')
        staged_total = timer.now() - start
    stage_seconds = split_stages(timer.totals, staged_total)
    num = args.frames
    result = dict(
        config=config,
        model=type(model).__name__,
        weights=checkpoint or 'random',
        device=str(device),
        machine=machine_description(device),
        frames=num,
        frames_from=frames_from,
        frame_size=list(args.size),
        model_input=model_input_shape(segmenter, frames[0]),
        instances_per_frame=num_instances / num,
        fps=num / total,
        stage_ms={k: 1000 * stage_seconds[k] / num for k in STAGES},
        total_ms=1000 * staged_total / num,
        peak_memory=peak)
    if args.long_video:
        result['long_video'] = long_video(segmenter, model.cfg, args)
    return result


def split_stages(totals: Dict[str, float], total: float) -> Dict[str, float]:
    """Seconds per row of :data:`STAGES` from the stages' self times.

    - pre-processing and the model stages as marked;
    - other model code: the model's ``step`` / ``flush`` (``'model'``)
      outside its marked stages (box decoding, NMS, embedding look-up, ...),
      and any stage not in the table;
    - post-processing: RLE encoding (``'rle'``) and the rest of ``total``
      (frame checks, results to NumPy, track votes).

    The rows sum to ``total`` (up to clamping at 0).
    """
    out = {s: totals.get(s, 0.0) for s in ('pre-processing', ) + MODEL_STAGES}
    known = set(out) | {'model', 'rle'}
    out['other model code'] = totals.get('model', 0.0) + sum(
        t for s, t in totals.items() if s not in known)
    out['post-processing (to RLE)'] = totals.get('rle', 0.0) + max(
        total - sum(totals.values()), 0.0)
    return out


def long_video(segmenter: VideoSegmenter, cfg, args) -> list:
    """Stream ``args.long_frames`` frames; state at 10%, 50% and 100%.

    Summaries of ended tracks are drained every frame, as a consumer of an
    endless stream would, so the state left is what the segmenter keeps.
    """
    num = args.long_frames
    frames, _ = make_frames(min(num, 64), args.long_size, args.input, cfg)
    checkpoints = {max(1, round(num * p)): p for p in (0.1, 0.5, 1.0)}
    report = []
    drained = 0
    segmenter.reset()
    for i in tqdm(range(num), desc='long video', unit='frame',
                  file=sys.stderr):
        segmenter.push(frames[i % len(frames)])
        drained += len(segmenter.pop_finished_summaries())
        if i + 1 in checkpoints:
            state = tracker_state(segmenter)
            state.update(frames=i + 1, percent=100 * checkpoints[i + 1],
                         drained_summaries=drained)
            report.append(state)
    segmenter.finish()
    return report


# ----------------------------------------------------------------------
# report
# ----------------------------------------------------------------------
def format_report(results: List[dict]) -> str:
    first = results[0]
    names = [osp.splitext(osp.basename(r['config']))[0] for r in results]
    lines = ['# VIS inference benchmark']
    random = [n for n, r in zip(names, results) if r['weights'] == 'random']
    if random:
        lines.append(f'RANDOM WEIGHTS (speed only, not a trained model): '
                     f'{", ".join(random)}')
    lines.append(f'machine: {first["machine"]}')
    lines.append(f'frames: {first["frames"]} timed (+ warm-up) of '
                 f'{first["frame_size"][0]}x{first["frame_size"][1]}, '
                 f'{first["frames_from"]}')
    lines.append('')
    width = max(24, *(len(n) for n in names))
    head = f'| {"":{width}} | ' + ' | '.join(
        f'{n:>{width}}' for n in names) + ' |'
    lines.append(head)
    lines.append('|' + '|'.join(['-' * (width + 2)] * (len(names) + 1)) +
                 '|')

    def row(label, values):
        lines.append(f'| {label:{width}} | ' + ' | '.join(
            f'{v:>{width}}' for v in values) + ' |')

    row('model', [r['model'] for r in results])
    row('weights', [
        'random' if r['weights'] == 'random' else osp.basename(r['weights'])
        for r in results
    ])
    row('model input (h x w)',
        [f'{r["model_input"][0]}x{r["model_input"][1]}' for r in results])
    row('instances / frame',
        [f'{r["instances_per_frame"]:.1f}' for r in results])
    row('frames/s', [f'{r["fps"]:.2f}' for r in results])
    row('frames/s ratio to first',
        [f'{r["fps"] / first["fps"]:.2f}' for r in results])
    for stage in STAGES:
        row(f'{stage} (ms)', [f'{r["stage_ms"][stage]:.1f}' for r in results])
    row('total, stage pass (ms / frame)',
        [f'{r["total_ms"]:.1f}' for r in results])
    row('peak memory (MiB)',
        [f'{r["peak_memory"][0]:.0f}' for r in results])
    lines.append('')
    lines.append(f'peak memory: {first["peak_memory"][1]}'
                 + (', one process per config' if len(results) > 1 else ''))
    for name, r in zip(names, results):
        if 'long_video' not in r:
            continue
        lines.append('')
        lines.append(f'## long video: {name}')
        lines.append('| frames | % | RSS (MiB) | peak RSS (MiB) | tracks | '
                     'track tensors (KiB) | ended, not drained | drained |')
        lines.append('|---|---|---|---|---|---|---|---|')
        for s in r['long_video']:
            rss = '-' if s['rss_mb'] is None else f'{s["rss_mb"]:.0f}'
            lines.append(
                f'| {s["frames"]} | {s["percent"]:.0f} | {rss} | '
                f'{s["peak_rss_mb"]:.0f} | {s["num_tracks"]} | '
                f'{s["tensor_bytes"] / 1024:.1f} | {s["num_finished"]} | '
                f'{s["drained_summaries"]} |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='model config')
    parser.add_argument('--checkpoint', help='checkpoint of CONFIG')
    parser.add_argument('--frames', type=int, default=100,
                        help='timed frames (default 100)')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed frames first (default 3)')
    parser.add_argument('--size', type=int, nargs=2, default=[360, 640],
                        metavar=('H', 'W'),
                        help='original frame size (default 360 640)')
    parser.add_argument('--input', help='video file or frame folder')
    parser.add_argument('--compare', nargs='+', default=[],
                        metavar='CONFIG', help='other configs to measure')
    parser.add_argument('--compare-checkpoints', nargs='+', default=[],
                        metavar='CKPT',
                        help='checkpoints of the --compare configs, in order')
    parser.add_argument('--long-video', action='store_true',
                        help='also stream --long-frames frames and report '
                        'memory and tracker state')
    parser.add_argument('--long-frames', type=int, default=2000)
    parser.add_argument('--long-size', type=int, nargs=2, default=[128, 224],
                        metavar=('H', 'W'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--score-thr',
        type=float,
        help='detection score threshold of every model (e.g. 0: every '
        'candidate through the whole pipeline, for speed with random '
        'weights); default: the configs\'')
    parser.add_argument('--result-json', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.frames < 1 or args.warmup < 0 or args.long_frames < 1:
        parser.error('--frames and --long-frames must be >= 1, --warmup >= 0')
    if len(args.compare_checkpoints) > len(args.compare):
        parser.error('more --compare-checkpoints than --compare configs')
    return args


def measure_in_subprocess(config: str, checkpoint: Optional[str],
                          args) -> dict:
    """Run :func:`measure` for ``config`` in a fresh Python process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        cmd = [sys.executable, osp.abspath(__file__), config, '--frames',
               str(args.frames), '--warmup', str(args.warmup), '--size',
               *map(str, args.size), '--device', args.device,
               '--long-frames', str(args.long_frames), '--long-size',
               *map(str, args.long_size), '--result-json', out]
        if checkpoint:
            cmd += ['--checkpoint', checkpoint]
        if args.input:
            cmd += ['--input', args.input]
        if args.long_video:
            cmd.append('--long-video')
        if args.score_thr is not None:
            cmd += ['--score-thr', str(args.score_thr)]
        proc = subprocess.run(cmd)
        if proc.returncode != 0:
            raise RuntimeError(f'benchmark of {config} failed (exit '
                               f'{proc.returncode})')
        with open(out) as f:
            return json.load(f)


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    if args.result_json:  # worker of a --compare run
        result = measure(args.config, args.checkpoint, args)
        with open(args.result_json, 'w') as f:
            json.dump(result, f)
        return [result]
    print(describe_machine_load(measure_machine_load()), flush=True)
    print(describe_cpu_threads(applied_cpu_threads()), flush=True)
    runs = [(args.config, args.checkpoint)] + [
        (cfg, args.compare_checkpoints[i]
         if i < len(args.compare_checkpoints) else None)
        for i, cfg in enumerate(args.compare)
    ]
    if len(runs) == 1:
        results = [measure(args.config, args.checkpoint, args)]
    else:
        results = [measure_in_subprocess(c, k, args) for c, k in runs]
    print(format_report(results))
    return results


if __name__ == '__main__':
    main()
