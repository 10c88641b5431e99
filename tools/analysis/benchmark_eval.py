"""Time offline evaluation as a user runs it: each tool a whole process.

Writes a random YouTube-VIS set (``--num-videos`` videos of
``--num-frames`` frames of 360x640, 10 categories, uncompressed-RLE ground
truth with ``areas`` as in the YouTube-VIS json, 10 predictions per video
as compressed RLEs) and times, in ``--repeats`` rounds that each run
every tool once (so that a machine whose speed drifts slows all of them
alike), from process start to exit:

- ``tools/analysis/eval_vis.py`` (AP / AR);
- ``tools/analysis/eval_vis.py --hota`` (AP / AR, HOTA and IDF1);
- the official YouTube-VIS evaluator (``ytvis.py`` / ``ytviseval.py`` of
  the ``youtubevos/cocoapi`` fork, run from the copies mmdet ships in
  ``mmdet/evaluation/functional``, loaded as plain files so that mmdet
  itself is not imported; the fork is not on PyPI);
- the original TrackEval (``pip install trackeval``), HOTA + Identity on
  its ``YouTubeVIS`` dataset class, as its ``scripts/run_youtube_vis.py``
  runs it (no plots, summaries or printed tables).

It checks that ``eval_vis.py`` gives the official stats and TrackEval's
HOTA stats (largest absolute difference, below the table), then times the
start-up (``--help``) of the tools that run no model. The tables are
printed as markdown (and written to ``--out``): per tool the median wall
time, the median over rounds of its ratio to the official evaluator's
time in the same round, and the median CPU time
(user + system) of the process, after the machine's load (other
processes' busy cores inflate the wall times: compare the ratios, and the
CPU times, which load inflates less).

Usage:
    python tools/analysis/benchmark_eval.py [--num-videos 300]
        [--num-frames 20] [--repeats 3] [--work-dir DIR] [--no-startup]
        [--out TABLE.md]
"""
#: Runs no model: ``import mmvis_clip`` registers nothing (see
#: mmvis_clip/__init__.py).
__runs_no_model__ = True

import argparse
import importlib.util
import json
import os
import os.path as osp
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, NamedTuple, Sequence, Tuple

from mmvis_clip.utils.atomic_io import write_bytes_atomic
from mmvis_clip.utils.machine_load import (describe_machine_load,
                                           measure_machine_load)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.realpath(__file__))))

HEIGHT, WIDTH = 360, 640
NUM_CATEGORIES = 10
PREDICTIONS_PER_VIDEO = 10
#: TrackEval's split name: it reads ``gt/youtube_vis_<split>/*.json``.
SPLIT = 'bench'
TRACKER = 'results'
AP_NAMES = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100',
            'ARs', 'ARm', 'ARl')
HOTA_NAMES = ('HOTA', 'DetA', 'AssA', 'LocA', 'IDF1')

#: The tools that run no model, whose start-up (``--help``) is timed.
STARTUP_TOOLS = (
    'tools/analysis/dataset_motion.py',
    'tools/analysis/eval_vis.py',
    'tools/analysis/frame_diagnosis.py',
    'tools/analysis/render_results.py',
    'tools/dataset_converters/cocotrack2ytvis.py',
    'tools/dataset_converters/frames2ytvis.py',
    'tools/dataset_converters/labelme2ytvis.py',
    'tools/dataset_converters/mots2ytvis.py',
    'tools/dataset_converters/split_ytvis.py',
    'tools/dataset_converters/vis2cocovid.py',
    'tools/misc/export_ytvis.py',
    'tools/misc/make_dataset_config.py',
    'tools/misc/make_synthetic_vis.py',
)

# The official evaluator: mmdet's copies of youtubevos/cocoapi's ytvis.py
# and ytviseval.py, loaded as files (they import only numpy and
# pycocotools). The official code predates NumPy 2's removal of np.float.
OFFICIAL_SCRIPT = r'''
import importlib.util, json, os, sys
import numpy as np
np.float = float
spec = importlib.util.find_spec('mmdet')
folder = os.path.join(os.path.dirname(spec.origin), 'evaluation',
                      'functional')
def load(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(folder, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
gt = load('ytvis').YTVIS(sys.argv[1])
evaluator = load('ytviseval').YTVISeval(gt, gt.loadRes(sys.argv[2]), 'segm')
evaluator.evaluate()
evaluator.accumulate()
evaluator.summarize()
with open(sys.argv[3], 'w') as f:
    json.dump([float(v) for v in evaluator.stats], f)
'''

# The original TrackEval, HOTA + Identity, as scripts/run_youtube_vis.py.
TRACKEVAL_SCRIPT = r'''
import json, sys
import numpy as np
import trackeval
folder, split, tracker, out = sys.argv[1:5]
eval_config = trackeval.Evaluator.get_default_eval_config()
eval_config.update(USE_PARALLEL=False, PRINT_RESULTS=False,
                   PRINT_CONFIG=False, TIME_PROGRESS=False,
                   OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False,
                   PLOT_CURVES=False)
dataset_config = dict(
    GT_FOLDER=folder + '/gt/', TRACKERS_FOLDER=folder + '/trackers/',
    OUTPUT_FOLDER=folder + '/output', SPLIT_TO_EVAL=split,
    TRACKERS_TO_EVAL=[tracker], PRINT_CONFIG=False)
evaluator = trackeval.Evaluator(eval_config)
dataset = trackeval.datasets.YouTubeVIS(dataset_config)
metrics = [trackeval.metrics.HOTA(),
           trackeval.metrics.Identity(dict(THRESHOLD=0.5,
                                           PRINT_CONFIG=False))]
output, _ = evaluator.evaluate([dataset], metrics)
combined = output[dataset.get_name()][tracker]['COMBINED_SEQ'][
    'cls_comb_det_av']
stats = {name: float(np.mean(combined['HOTA'][name]))
         for name in ('HOTA', 'DetA', 'AssA', 'LocA')}
stats['IDF1'] = float(combined['Identity']['IDF1'])
with open(out, 'w') as f:
    json.dump(stats, f)
'''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Time eval_vis.py against the official YouTube-VIS '
        'evaluator and TrackEval, whole processes, on a random set')
    parser.add_argument(
        '--num-videos', type=int, default=300, help='videos (default 300)')
    parser.add_argument(
        '--num-frames',
        type=int,
        default=20,
        help='frames per video (default 20)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='runs of each command; the median is reported (default 3)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--work-dir',
        help='folder for the set and the outputs (default: a temporary '
        'folder, deleted at the end)')
    parser.add_argument(
        '--no-startup',
        action='store_true',
        help='skip the start-up (--help) times of the tools')
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args(argv)
    for name in ('num_videos', 'num_frames', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be at least 1')
    return args


def ellipse_runs(cx: float, cy: float, rx: float, ry: float, height: int,
                 width: int):
    """Column-major run lengths (zeros first) of a filled ellipse.

    Args:
        cx, cy (float): Centre, pixels.
        rx, ry (float): Radii, pixels (> 0).
        height, width (int): Frame size.

    Returns:
        tuple[list[int], int]: The uncompressed RLE ``counts`` and the
        mask area.
    """
    import numpy as np
    xs = np.arange(max(0, int(np.ceil(cx - rx))),
                   min(width - 1, int(np.floor(cx + rx))) + 1)
    half = ry * np.sqrt(np.clip(1 - ((xs - cx) / rx)**2, 0, None))
    y_lo = np.clip(np.ceil(cy - half), 0, height).astype(np.int64)
    y_hi = np.clip(np.floor(cy + half) + 1, 0, height).astype(np.int64)
    kept = y_hi > y_lo
    xs, y_lo, y_hi = xs[kept], y_lo[kept], y_hi[kept]
    if xs.size == 0:
        return [height * width], 0
    starts = xs * height + y_lo  # pixel index of each column's first one
    ends = xs * height + y_hi
    gaps = starts[1:] - ends[:-1]
    # columns that touch (full height) make one run, as pycocotools
    # encodes them (its merge miscounts zero-length runs)
    segment = np.concatenate([[0], np.cumsum(gaps > 0)])
    ones = np.bincount(segment, weights=y_hi - y_lo).astype(np.int64)
    counts = np.empty(2 * ones.size + 1, dtype=np.int64)
    counts[0] = starts[0]
    counts[1:-1:2] = ones
    counts[2:-1:2] = gaps[gaps > 0]
    counts[-1] = height * width - ends[-1]
    if counts[-1] == 0:  # ends with foreground
        counts = counts[:-1]
    return counts.tolist(), int(ones.sum())


def make_set(num_videos: int, num_frames: int, seed: int) -> Tuple[dict,
                                                                   list]:
    """Random ground truth and results (see the module doc).

    Each video holds 2 to 5 ground-truth ellipses that move and change
    size, each present over a random span of frames; its 10 predictions
    are jittered copies of them (most of the same category) and random
    false positives, scores uniform in [0, 1).

    Returns:
        tuple[dict, list]: The ground truth json and the results list.
    """
    import numpy as np
    from pycocotools import mask as mask_utils
    rng = np.random.default_rng(seed)
    videos, annotations, results = [], [], []
    categories = [
        dict(id=i, name=f'category_{i}')
        for i in range(1, NUM_CATEGORIES + 1)
    ]

    def track(base=None):
        if base is None:
            radii = rng.uniform([8, 8], [220, 170])
            centre = rng.uniform([0, 0], [WIDTH, HEIGHT])
            velocity = rng.normal(0, 4, 2)
            first = int(rng.integers(0, max(1, num_frames // 3)))
            last = int(rng.integers(first, num_frames))
            return centre, velocity, radii, first, last
        centre, velocity, radii, first, last = base
        return (centre + rng.normal(0, 0.1, 2) * radii,
                velocity + rng.normal(0, 0.5, 2),
                radii * rng.uniform(0.8, 1.25, 2),
                int(np.clip(first + rng.integers(-1, 2), 0, num_frames - 1)),
                int(np.clip(last + rng.integers(-1, 2), 0, num_frames - 1)))

    def frames(spec):
        centre, velocity, radii, first, last = spec
        counts, areas = [], []
        for t in range(num_frames):
            if not first <= t <= last:
                counts.append(None)
                areas.append(None)
                continue
            cx, cy = centre + velocity * t
            scale = 1 + 0.01 * (t - first)
            runs, area = ellipse_runs(cx, cy, radii[0] * scale,
                                      radii[1] * scale, HEIGHT, WIDTH)
            counts.append(runs if area else None)
            areas.append(float(area) if area else None)
        return counts, areas

    for video_id in range(1, num_videos + 1):
        videos.append(
            dict(
                id=video_id,
                width=WIDTH,
                height=HEIGHT,
                length=num_frames,
                file_names=[
                    f'video_{video_id:05d}/{t:05d}.jpg'
                    for t in range(num_frames)
                ]))
        gt_tracks = []
        for _ in range(int(rng.integers(2, 6))):
            spec, category_id = track(), int(rng.integers(1, 11))
            gt_tracks.append((spec, category_id))
            counts, areas = frames(spec)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    video_id=video_id,
                    category_id=category_id,
                    iscrowd=0,
                    height=HEIGHT,
                    width=WIDTH,
                    length=num_frames,
                    areas=areas,
                    segmentations=[
                        None if c is None else dict(
                            size=[HEIGHT, WIDTH], counts=c) for c in counts
                    ]))
        for p in range(PREDICTIONS_PER_VIDEO):
            if p < 2 * len(gt_tracks):
                base, category_id = gt_tracks[p % len(gt_tracks)]
                spec = track(base)
                if rng.random() < 0.2:
                    category_id = int(rng.integers(1, 11))
            else:
                spec, category_id = track(), int(rng.integers(1, 11))
            counts, _ = frames(spec)
            segmentations = []
            for c in counts:
                if c is None:
                    segmentations.append(None)
                    continue
                rle = mask_utils.frPyObjects(
                    dict(size=[HEIGHT, WIDTH], counts=c), HEIGHT, WIDTH)
                segmentations.append(
                    dict(
                        size=[HEIGHT, WIDTH],
                        counts=rle['counts'].decode('ascii')))
            results.append(
                dict(
                    video_id=video_id,
                    category_id=category_id,
                    score=round(float(rng.random()), 6),
                    segmentations=segmentations))
    return dict(
        videos=videos, annotations=annotations,
        categories=categories), results


def write_set(folder: str, gt: dict, results: list) -> Dict[str, str]:
    """Write the set for every tool.

    Returns:
        dict[str, str]: ``gt`` and ``results`` json paths and the
        ``trackeval`` folder (TrackEval's ``gt/`` and ``trackers/``
        layout, holding links to the same two files).
    """
    paths = dict(
        gt=osp.join(folder, 'gt.json'),
        results=osp.join(folder, 'results.json'),
        trackeval=osp.join(folder, 'trackeval'))
    for key, data in (('gt', gt), ('results', results)):
        write_bytes_atomic(json.dumps(data).encode('utf-8'), paths[key])
    for key, sub in (('gt', ('gt', f'youtube_vis_{SPLIT}')),
                     ('results', ('trackers', f'youtube_vis_{SPLIT}',
                                  TRACKER, 'data'))):
        target = osp.join(paths['trackeval'], *sub)
        os.makedirs(target, exist_ok=True)
        link = osp.join(target, osp.basename(paths[key]))
        if not osp.exists(link):
            try:
                os.link(paths[key], link)
            except OSError:
                shutil.copyfile(paths[key], link)
    return paths


class Timing(NamedTuple):
    """Runs of one command: wall and CPU (user + system) seconds each."""
    wall: List[float]
    cpu: List[float]

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_commands(commands: Dict[str, Sequence[str]], repeats: int,
                  env: dict) -> Dict[str, Timing]:
    """Wall and CPU times (s) of ``repeats`` runs of each command, taken in
    turns (one run of each, then again), so that a machine whose speed
    drifts slows every command alike; each run checked to exit 0."""
    timings = {name: Timing([], []) for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            once = time_command(command, 1, env)
            timings[name].wall.extend(once.wall)
            timings[name].cpu.extend(once.cpu)
    return timings


def round_ratio(timing: Timing, reference: Timing) -> float:
    """The median over rounds of the wall-time ratio of two commands timed
    in turns (:func:`time_commands`)."""
    return statistics.median(
        ours / theirs for ours, theirs in zip(timing.wall, reference.wall))


def time_command(command: Sequence[str], repeats: int, env: dict) -> Timing:
    """Wall and CPU times (s) of ``repeats`` runs of ``command``, each
    checked to exit 0."""
    timing = Timing([], [])
    for _ in range(repeats):
        cpu = _children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(
            list(command),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True)
        timing.wall.append(time.perf_counter() - start)
        timing.cpu.append(_children_cpu() - cpu)
        if proc.returncode != 0:
            raise RuntimeError(f'{" ".join(command)} failed (exit '
                               f'{proc.returncode}): {proc.stderr[-2000:]}')
    return timing


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _max_difference(ours: dict, theirs: dict,
                    names: Sequence[str]) -> float:
    return max(abs(ours[name] - theirs[name]) for name in names)


OFFICIAL = 'official YouTube-VIS evaluator (youtubevos cocoapi)'
EVAL_VIS = '`eval_vis.py`'
EVAL_VIS_HOTA = '`eval_vis.py --hota`'
TRACKEVAL = 'original TrackEval, HOTA + Identity'


def run(args) -> str:
    """Write the set, time every tool and return the markdown report."""
    python = sys.executable
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in [env.get('PYTHONPATH')] if p])
    load = describe_machine_load(measure_machine_load())
    folder = args.work_dir or tempfile.mkdtemp(prefix='benchmark_eval_')
    os.makedirs(folder, exist_ok=True)
    rows: Dict[str, Timing] = {}
    notes: List[str] = []
    startup: List[Tuple[str, Timing]] = []
    try:
        start = time.perf_counter()
        gt, results = make_set(args.num_videos, args.num_frames, args.seed)
        paths = write_set(folder, gt, results)
        made = time.perf_counter() - start
        out = {
            name: osp.join(folder, f'{name}.json')
            for name in ('eval_vis', 'eval_vis_hota', 'official',
                         'trackeval')
        }
        eval_vis = [
            python,
            osp.join('tools', 'analysis', 'eval_vis.py'), '--gt', paths['gt'],
            '--results', paths['results']
        ]
        commands = {EVAL_VIS: eval_vis + ['--out', out['eval_vis']]}
        has_trackeval = _available('trackeval')
        if has_trackeval:
            commands[EVAL_VIS_HOTA] = eval_vis + [
                '--hota', '--out', out['eval_vis_hota']
            ]
        else:
            notes.append('TrackEval is not installed (pip install '
                         'trackeval): no HOTA rows')
        if _available('mmdet'):
            commands[OFFICIAL] = [
                python, '-c', OFFICIAL_SCRIPT, paths['gt'], paths['results'],
                out['official']
            ]
        else:
            notes.append('mmdet (which ships the official evaluator) is '
                         'not installed: no official row')
        if has_trackeval:
            commands[TRACKEVAL] = [
                python, '-c', TRACKEVAL_SCRIPT, paths['trackeval'], SPLIT,
                TRACKER, out['trackeval']
            ]
        rows.update(time_commands(commands, args.repeats, env))
        with open(out['eval_vis']) as f:
            stats = json.load(f)
        if OFFICIAL in rows:
            with open(out['official']) as f:
                official = dict(zip(AP_NAMES, json.load(f)))
            notes.append('AP / AR of eval_vis.py minus the official ones: '
                         'largest absolute difference '
                         f'{_max_difference(stats, official, AP_NAMES):.1e}')
        if has_trackeval:
            with open(out['eval_vis_hota']) as f:
                ours = json.load(f)
            with open(out['trackeval']) as f:
                theirs = json.load(f)
            notes.append('HOTA DetA AssA LocA IDF1 of eval_vis.py --hota '
                         'minus TrackEval\'s: largest absolute difference '
                         f'{_max_difference(ours, theirs, HOTA_NAMES):.1e}')
            extra = [
                hota - plain for hota, plain in zip(
                    rows[EVAL_VIS_HOTA].wall, rows[EVAL_VIS].wall)
            ]
            own = rows[TRACKEVAL].wall
            notes.append(
                f'--hota adds {statistics.median(extra):.2f} s to '
                'eval_vis.py: '
                f'{statistics.median(e / o for e, o in zip(extra, own)):.2f}x'
                ' TrackEval\'s own HOTA + Identity time (median of the '
                'rounds)')
        if not args.no_startup:
            for tool in STARTUP_TOOLS:
                startup.append((tool,
                                time_command([python, tool, '--help'],
                                             args.repeats, env)))
    finally:
        if not args.work_dir:
            shutil.rmtree(folder, ignore_errors=True)

    reference = rows.get(OFFICIAL)
    lines = [
        f'Set: {args.num_videos} videos x {args.num_frames} frames of '
        f'{HEIGHT}x{WIDTH}, {NUM_CATEGORIES} categories, '
        f'{len(gt["annotations"])} ground-truth tracks, {len(results)} '
        f'predictions (seed {args.seed}, written in {made:.1f} s); '
        f'{args.repeats} rounds, each running every tool once, a whole '
        'process each: median times, and the median of the rounds\' '
        'ratios.', '',
        f'Machine load before measuring: {load}', '',
        '| tool | wall time (s) | vs official | CPU time (s) |',
        '|---|---|---|---|'
    ]
    for name in (EVAL_VIS, EVAL_VIS_HOTA, OFFICIAL, TRACKEVAL):
        if name not in rows:
            continue
        timing = rows[name]
        ratio = f'{round_ratio(timing, reference):.2f}x' \
            if reference else 'n/a'
        lines.append(f'| {name} | {timing.median_wall:.2f} | {ratio} | '
                     f'{timing.median_cpu:.2f} |')
    lines += [''] + [f'- {note}' for note in notes]
    if startup:
        lines += [
            '', '| tool | start-up, `--help` (s) | CPU time (s) |',
            '|---|---|---|'
        ] + [
            f'| `{tool}` | {timing.median_wall:.2f} | '
            f'{timing.median_cpu:.2f} |' for tool, timing in startup
        ]
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(report)
    if args.out:
        write_bytes_atomic((report + '\n').encode('utf-8'), args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
