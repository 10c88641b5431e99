"""Run planning of ``tools/analysis/benchmark_synthetic.py``."""
import importlib.util
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    'benchmark_synthetic',
    osp.join(REPO, 'tools', 'analysis', 'benchmark_synthetic.py'))
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)

FIFO_8E = 'configs/cico/cico-{}_r18_fpn_fifo_1xb4-8e_synthetic.py'
CICO_4E = 'configs/cico/cico-{}_r18_fpn_1xb4-4e_synthetic.py'
FIFO_4E = 'configs/cico/cico-{}_r18_fpn_fifo_1xb4-4e_synthetic.py'


def test_cico_preset_trains_the_frame_models_first():
    waves = benchmark.plan_runs(benchmark.PRESETS['cico'], 'wd')
    assert len(waves) == 2
    first = dict(waves[0])
    assert set(first) == {
        FIFO_8E.format('yolact'),
        FIFO_8E.format('condinst'),
        'configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py',
        'configs/masktrack_rcnn/masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py'
    }
    assert set(first.values()) == {None}
    # the clip model and its FiFo baseline start from the same checkpoint
    expected = {}
    for variant in ('yolact', 'condinst'):
        ckpt = osp.join(
            'wd', osp.basename(FIFO_8E.format(variant))[:-3], 'epoch_8.pth')
        expected[CICO_4E.format(variant)] = ckpt
        expected[FIFO_4E.format(variant)] = ckpt
    assert dict(waves[1]) == expected


def test_missing_producer_is_added_and_each_config_runs_once():
    config = CICO_4E.format('yolact')
    waves = benchmark.plan_runs([config, osp.join(REPO, config)], 'wd')
    assert waves == [[(FIFO_8E.format('yolact'), None)],
                     [(config, 'wd/cico-yolact_r18_fpn_fifo_1xb4-8e_'
                       'synthetic/epoch_8.pth')]]


def test_configs_starting_from_each_other_are_refused(tmp_path):
    (tmp_path / 'a.py').write_text("load_from = 'work_dirs/b/epoch_1.pth'\n")
    (tmp_path / 'b.py').write_text("load_from = 'work_dirs/a/epoch_1.pth'\n")
    with pytest.raises(ValueError, match='starting from each other'):
        benchmark.plan_runs([str(tmp_path / 'a.py')], 'wd')
