"""tools/analysis/benchmark_vis.py: stage accounting and a tiny run."""
import importlib.util
import itertools
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
from torch import nn

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')

spec = importlib.util.spec_from_file_location(
    'benchmark_vis', osp.join(REPO, 'tools', 'analysis', 'benchmark_vis.py'))
benchmark_vis = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark_vis)


class AddOne(nn.Module):

    def forward(self, x):
        return x + 1


class Outer(nn.Module):

    def __init__(self):
        super().__init__()
        self.inner = AddOne()

    def forward(self, x):
        return self.inner(x) * 2


class Tracker:

    def track(self, x):
        return x - 1


def test_stage_timer_counts_nested_regions_once():
    model = nn.Module()
    model.outer, model.solo, model.tracker = Outer(), AddOne(), Tracker()
    ticks = itertools.count()
    # every clock reading advances by one: each timed region lasts 1
    timer = benchmark_vis.StageTimer(clock=lambda: float(next(ticks)))
    timer.time_target(model, 'outer', 'a')
    timer.time_target(model, 'outer.inner', 'b')
    timer.time_target(model, 'solo', 'b')
    timer.time_target(model, 'tracker.track', 'c')
    x = torch.zeros(1)
    assert model.outer(x).item() == 2  # inner runs inside a: counted in a
    assert model.solo(x).item() == 1
    assert model.outer.inner(x).item() == 1  # on its own: counted in b
    assert model.tracker.track(x).item() == -1
    assert dict(timer.totals) == {'a': 1.0, 'b': 2.0, 'c': 1.0}

    timer.remove()
    model.outer(x), model.solo(x), model.tracker.track(x)
    assert dict(timer.totals) == {'a': 1.0, 'b': 2.0, 'c': 1.0}
    assert 'track' not in vars(model.tracker)  # the method is restored
    with pytest.raises(AttributeError, match="'outer.missing'"):
        timer.time_target(model, 'outer.missing', 'a')


def test_split_stages_adds_up():
    totals = {
        'pipeline': 1.0, 'data pre-processor': 0.5, 'backbone': 2.0,
        'neck': 1.0, 'heads': 1.0, 'mask': 1.0, 'tracking': 0.5,
        'rle': 0.25
    }
    stages = benchmark_vis.split_stages(totals, model_seconds=7.0, total=9.0)
    assert stages == {
        'pre-processing': 1.5, 'backbone': 2.0, 'neck': 1.0, 'heads': 1.0,
        'mask': 1.0, 'tracking': 0.5,
        'other model code': 7.0 - 0.5 - 5.5,
        'post-processing (to RLE)': 0.25 + (9.0 - 1.0 - 7.0 - 0.25)
    }
    assert sum(stages.values()) == pytest.approx(9.0)


def test_tiny_run_on_stc(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f'{i}.png'),
                    rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    (result, ) = benchmark_vis.main([
        CONFIG, '--frames', '3', '--warmup', '1', '--size', '64', '96',
        '--input', str(tmp_path)
    ])
    out = capsys.readouterr().out
    assert 'RANDOM WEIGHTS' in out and 'torch threads' in out
    assert sum(result['stage_ms'].values()) == pytest.approx(
        result['total_ms'], rel=1e-6)
    assert result['fps'] > 0
    for stage in ('backbone', 'neck', 'heads', 'mask', 'tracking'):
        assert result['stage_ms'][stage] > 0
    # 64x96 fitted into the config's 224x128 keeping the ratio
    assert result['model_input'] == [128, 192]

    def row(label):
        line = next(ln for ln in out.splitlines()
                    if ln.startswith(f'| {label} '))
        return float(re.split(r'\s*\|\s*', line)[2])

    table_stages = [row(f'{s} (ms)') for s in benchmark_vis.STAGES]
    # rows are rounded to 0.1 ms
    assert sum(table_stages) == pytest.approx(
        row('total, stage pass (ms / frame)'),
        abs=0.05 * len(table_stages) + 0.05)
    assert row('frames/s') == pytest.approx(result['fps'], abs=0.005)
    assert row('frames/s ratio to first') == 1.0


def test_frames_per_second_pass_has_no_hooks(tmp_path, monkeypatch):
    """Frames/s comes from a pass without stage hooks; the stages from a
    second pass over the same frames with them."""
    hooks_seen = []
    real = benchmark_vis.VideoSegmenter

    def recording_segmenter(model):
        segmenter = real(model)
        push = segmenter.push

        def counting_push(frame):
            hooks_seen.append(
                sum(len(m._forward_hooks) for m in model.modules()))
            return push(frame)

        segmenter.push = counting_push
        return segmenter

    monkeypatch.setattr(benchmark_vis, 'VideoSegmenter', recording_segmenter)
    benchmark_vis.main([
        CONFIG, '--frames', '3', '--warmup', '1', '--size', '64', '96'
    ])
    # warm-up and frames/s pass: no hook; stage pass: the stages' hooks
    assert len(hooks_seen) == 7
    assert hooks_seen[:4] == [0] * 4 and min(hooks_seen[4:]) > 0


def test_score_thr_reaches_every_kind_of_model():
    from mmengine.config import Config
    cico = osp.join(REPO, 'configs', 'cico',
                    'cico-yolact_r18_fpn_1xb4-8e_synthetic.py')
    masktrack = osp.join(REPO, 'configs', 'masktrack_rcnn',
                         'masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py')
    for config in (CONFIG, cico, masktrack):
        options = benchmark_vis.score_thr_options(config, 0.0)
        (key, value), = options.items()
        node = Config.fromfile(config)
        for part in key.split('.'):
            assert part in node, (config, key)  # an existing key
            node = node[part]
        assert isinstance(node, float) and value == 0.0
    assert benchmark_vis.score_thr_options(CONFIG, None) == {}
