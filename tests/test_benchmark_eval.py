"""tools/analysis/benchmark_eval.py: its random set is what pycocotools
writes, and on a tiny set it runs every tool and finds their stats
equal."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / 'tools' / 'analysis' / 'benchmark_eval.py'
spec = importlib.util.spec_from_file_location('benchmark_eval', SCRIPT)
benchmark_eval = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark_eval)


def test_ellipse_runs_are_the_canonical_rle_of_the_mask():
    rng = np.random.default_rng(0)
    height, width = 36, 64
    for _ in range(300):
        cx, cy = rng.uniform(-10, 75), rng.uniform(-10, 45)
        rx, ry = rng.uniform(0.5, 50, 2)
        counts, area = benchmark_eval.ellipse_runs(cx, cy, rx, ry, height,
                                                   width)
        rle = mask_utils.frPyObjects(
            dict(size=[height, width], counts=counts), height, width)
        mask = mask_utils.decode(rle)
        assert area == mask.sum()
        # what pycocotools writes for that mask: no zero-length run but
        # the first
        assert rle['counts'] == mask_utils.encode(
            np.asfortranarray(mask))['counts']
        yy, xx = np.mgrid[:height, :width]
        inside = ((xx - cx) / rx)**2 + ((yy - cy) / ry)**2 <= 1
        wrong = np.abs(mask.astype(int) - inside).sum()
        assert wrong <= 2 * (height + width)


def test_make_set_has_the_sizes_asked_for():
    gt, results = benchmark_eval.make_set(4, 3, seed=1)
    assert len(gt['videos']) == 4 and len(results) == 40
    assert {c['id'] for c in gt['categories']} == set(range(1, 11))
    for ann in gt['annotations']:
        assert len(ann['segmentations']) == len(ann['areas']) == 3
    for result in results:
        assert len(result['segmentations']) == 3


def test_tool_times_every_evaluator_on_a_tiny_set(tmp_path):
    out = tmp_path / 'table.md'
    proc = subprocess.run([
        sys.executable,
        str(SCRIPT), '--num-videos', '3', '--num-frames', '2', '--repeats',
        '1', '--no-startup', '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out)
    ],
                          cwd=tmp_path,
                          capture_output=True,
                          text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr
    table = out.read_text()
    assert table.strip() == proc.stdout.strip()
    for row in ('`eval_vis.py`', '`eval_vis.py --hota`',
                'official YouTube-VIS evaluator', 'original TrackEval'):
        assert re.search(rf'\| {re.escape(row)}[^|]* \| [0-9.]+ \| '
                         r'[0-9.]+x \| [0-9.]+ \|', table), row
    differences = [
        float(v) for v in re.findall(r'largest absolute difference (\S+)',
                                     table)
    ]
    assert len(differences) == 2
    assert differences[0] == 0 and differences[1] < 1e-12
    for name in ('gt.json', 'results.json', 'eval_vis.json',
                 'official.json', 'trackeval.json'):
        assert (tmp_path / 'work' / name).is_file()


def test_commands_are_timed_in_turns(tmp_path):
    log = tmp_path / 'order.txt'
    commands = {
        name: [
            sys.executable, '-c',
            f'open({str(log)!r}, "a").write({name!r})'
        ]
        for name in ('a', 'b', 'c')
    }
    timings = benchmark_eval.time_commands(commands, 2, dict(os.environ))
    assert log.read_text() == 'abcabc'
    assert [len(timings[name].wall) for name in 'abc'] == [2, 2, 2]


def test_round_ratio_by_hand():
    Timing = benchmark_eval.Timing
    # rounds' ratios 0.5, 1.0, 3.0: the median is 1.0 (the means' ratio
    # would be 1.5)
    ours, theirs = Timing([1., 2., 6.], [0] * 3), Timing([2.] * 3, [0] * 3)
    assert benchmark_eval.round_ratio(ours, theirs) == 1.0
    assert benchmark_eval.round_ratio(
        Timing([1., 4.], [0, 0]), Timing([2., 2.], [0, 0])) == 1.25
