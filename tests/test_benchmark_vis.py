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

from mmvis_clip.apis import VideoSegmenter, init_vis_model
from mmvis_clip.models.utils import inference_stages

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')

spec = importlib.util.spec_from_file_location(
    'benchmark_vis', osp.join(REPO, 'tools', 'analysis', 'benchmark_vis.py'))
benchmark_vis = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark_vis)

CICO = osp.join(REPO, 'configs', 'cico',
                'cico-yolact_r18_fpn_1xb4-8e_synthetic.py')
MASKTRACK = osp.join(REPO, 'configs', 'masktrack_rcnn',
                     'masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py')


class Events:
    """A recorder that keeps its calls."""

    def __init__(self):
        self.calls = []

    def enter(self, name):
        self.calls.append(('enter', name))

    def exit(self, name):
        self.calls.append(('exit', name))


def test_stage_timer_counts_self_time_of_nested_stages():
    ticks = itertools.count()
    # every clock reading advances by one
    timer = benchmark_vis.StageTimer(clock=lambda: float(next(ticks)))
    script = [('enter', 'model'),  # 0
              ('enter', 'backbone'), ('exit', 'backbone'),  # 1, 2
              ('enter', 'tracking'),  # 3
              ('enter', 'mask'), ('exit', 'mask'),  # 4, 5
              ('exit', 'tracking'),  # 6
              ('exit', 'model'),  # 7
              ('enter', 'rle'), ('exit', 'rle'),  # 8, 9
              ('enter', 'backbone'), ('exit', 'backbone')]  # 10, 11
    for call, name in script:
        getattr(timer, call)(name)
    # model: 0-1, 2-3, 6-7; tracking: 3-4, 5-6; the rest one span each
    assert dict(timer.totals) == {
        'model': 3.0, 'backbone': 2.0, 'tracking': 2.0, 'mask': 1.0,
        'rle': 1.0
    }
    timer.enter('heads')
    with pytest.raises(RuntimeError, match="exit\\('mask'\\)"):
        timer.exit('mask')
    timer.reset()
    assert dict(timer.totals) == {}


def test_inference_stage_without_recorder_does_nothing():
    assert inference_stages.active_recorder() is None
    stage = inference_stages.inference_stage('backbone')
    assert stage is inference_stages.inference_stage('mask')  # shared
    with stage:
        pass
    module = nn.Linear(2, 2)
    inference_stages.mark_module_stage(module, 'heads')
    x = torch.ones(1, 2)
    expected = module(x)  # hooks run, nothing is recorded

    events = Events()
    with inference_stages.record_inference_stages(events):
        assert inference_stages.active_recorder() is events
        with inference_stages.inference_stage('model'):
            assert torch.equal(module(x), expected)
        with pytest.raises(RuntimeError, match='already active'):
            with inference_stages.record_inference_stages(Events()):
                pass
        # a failing forward still closes its stage
        with pytest.raises(RuntimeError):
            module(torch.ones(1, 3))
    assert inference_stages.active_recorder() is None
    module(x)
    assert events.calls == [('enter', 'model'), ('enter', 'heads'),
                            ('exit', 'heads'), ('exit', 'model'),
                            ('enter', 'heads'), ('exit', 'heads')]
    # marked again: one pair of hooks, the new name
    inference_stages.mark_module_stage(module, 'mask')
    assert len(module._forward_pre_hooks) == len(module._forward_hooks) == 1
    events = Events()
    with inference_stages.record_inference_stages(events):
        module(x)
    assert events.calls == [('enter', 'mask'), ('exit', 'mask')]


def test_split_stages_adds_up():
    totals = {
        'pre-processing': 1.5, 'model': 0.5, 'backbone': 2.0, 'neck': 1.0,
        'heads': 1.0, 'mask': 1.0, 'tracking': 0.5, 'rle': 0.25,
        'new stage': 0.25
    }
    stages = benchmark_vis.split_stages(totals, total=9.0)
    assert stages == {
        'pre-processing': 1.5, 'backbone': 2.0, 'neck': 1.0, 'heads': 1.0,
        'mask': 1.0, 'tracking': 0.5, 'other model code': 0.5 + 0.25,
        'post-processing (to RLE)': 0.25 + (9.0 - 8.0)
    }
    assert sum(stages.values()) == pytest.approx(9.0)


def write_frames(folder):
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(folder / f'{i}.png'),
                    rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))


@pytest.mark.parametrize('config', [CONFIG, CICO, MASKTRACK])
def test_tiny_run_reports_every_stage(config, tmp_path, capsys):
    write_frames(tmp_path)
    (result, ) = benchmark_vis.main([
        config, '--frames', '3', '--warmup', '1', '--size', '64', '96',
        '--input', str(tmp_path), '--score-thr', '0'
    ])
    out = capsys.readouterr().out
    assert 'RANDOM WEIGHTS' in out and 'torch threads' in out
    # the machine's load, sampled before the run
    assert out.startswith('machine load: other processes kept ')
    # and the CPU thread count, with why
    assert '\nCPU threads: ' in out
    assert sum(result['stage_ms'].values()) == pytest.approx(
        result['total_ms'], rel=1e-6)
    assert result['fps'] > 0 and result['instances_per_frame'] > 0
    for stage in benchmark_vis.STAGES:
        assert result['stage_ms'][stage] > 0, stage
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


def test_frames_per_second_pass_has_no_recorder(monkeypatch):
    """Frames/s comes from a pass with no stage recorder; the stages from
    a second pass over the same frames with one."""
    recorders = []
    real = benchmark_vis.VideoSegmenter

    def recording_segmenter(model):
        segmenter = real(model)
        push = segmenter.push

        def push_noting_recorder(frame):
            recorders.append(inference_stages.active_recorder())
            return push(frame)

        segmenter.push = push_noting_recorder
        return segmenter

    monkeypatch.setattr(benchmark_vis, 'VideoSegmenter', recording_segmenter)
    benchmark_vis.main([
        CONFIG, '--frames', '3', '--warmup', '1', '--size', '64', '96'
    ])
    # warm-up and frames/s pass: none; stage pass: the timer
    assert len(recorders) == 7 and recorders[:4] == [None] * 4
    assert all(
        isinstance(r, benchmark_vis.StageTimer) for r in recorders[4:])


@pytest.mark.parametrize('config', [CONFIG, CICO, MASKTRACK])
def test_recording_stages_changes_no_output(config):
    model = init_vis_model(
        config, None, cfg_options=benchmark_vis.score_thr_options(config, 0))
    segmenter = VideoSegmenter(model)
    rng = np.random.default_rng(0)
    frames = [
        rng.integers(0, 256, (64, 96, 3), dtype=np.uint8) for _ in range(3)
    ]

    def run():
        segmenter.reset()
        results = [r for f in frames for r in segmenter.push(f)]
        return results + segmenter.finish()[0]

    plain = run()
    events = Events()
    with inference_stages.record_inference_stages(events):
        recorded = run()
    assert len(plain) == len(recorded) == 3
    for a, b in zip(plain, recorded):
        for key in ('masks', 'bboxes', 'labels', 'scores', 'instances_id'):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert sum(len(r) for r in plain) > 0
    names = {name for _, name in events.calls}
    assert names == {'pre-processing', 'model', 'backbone', 'neck', 'heads',
                     'mask', 'tracking'}
    # properly nested
    timer = benchmark_vis.StageTimer()
    for call, name in events.calls:
        getattr(timer, call)(name)
    assert not timer._open


def test_score_thr_reaches_every_kind_of_model():
    from mmengine.config import Config
    for config in (CONFIG, CICO, MASKTRACK):
        options = benchmark_vis.score_thr_options(config, 0.0)
        (key, value), = options.items()
        node = Config.fromfile(config)
        for part in key.split('.'):
            assert part in node, (config, key)  # an existing key
            node = node[part]
        assert isinstance(node, float) and value == 0.0
    assert benchmark_vis.score_thr_options(CONFIG, None) == {}
