"""Values and registry names of a config (its file and ``--cfg-options``)
checked against what the built classes take, before anything is built
(``mmvis_clip.engine.config_checks.check_config_values``).

Most cases go through ``setup_runner_cfg`` in-process (what both tools
call); a few run ``tools/train.py`` / ``tools/test.py`` to see the one
line a user gets.
"""
import glob
import os
import os.path as osp
import subprocess
import sys
from argparse import Namespace

import pytest
from mmengine.config import Config

from mmvis_clip.engine import check_config_values, setup_runner_cfg
from mmvis_clip.utils.user_errors import UserError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STC = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')
MTR = osp.join(REPO, 'configs', 'masktrack_rcnn',
               'masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py')


def _setup(config, options=None, tmp_path=None):
    args = Namespace(config=config, launcher='none', local_rank=0,
                     data_root=None, cfg_options=options,
                     work_dir=str(tmp_path) if tmp_path else None)
    return setup_runner_cfg(args)


@pytest.mark.parametrize('option, value, says', [
    # the cases: each names the key and what it takes
    ('train_cfg.max_epochs', 2.5, 'the epochs to train must be a whole '
     'number >= 1'),
    ('train_cfg.max_epochs', -1, 'the epochs to train must be a whole '
     'number >= 1'),
    ('train_cfg.max_epochs', 0, 'the epochs to train must be a whole '
     'number >= 1'),
    ('train_dataloader.batch_size', 0, 'the samples per process and step '
     'must be a whole number >= 1'),
    ('randomness.seed', 'abc', 'the random seed must be a whole number'),
    ('randomness.seed', 1.5, 'the random seed must be a whole number from '
     '0 to 4294967295, or None'),
    ('model.detector.bbox_head.num_classes', True, 'the class count must '
     'be a whole number >= 1'),
    ('train_dataloader.num_workers', -2, 'the loader processes must be a '
     'whole number >= 0'),
    ('train_dataloader.batch_size', [1, 2], 'must be a whole number'),
    ('model.tracker.num_frames_retain', [5], "STCTracker's "
     'num_frames_retain takes a whole number, not a list'),
    ('train_dataloader.dataset.ann_file', [1, 2], "SyntheticVISDataset's "
     'ann_file takes a path (text) or None, not a list'),
    ('val_evaluator.ann_file', 3, "VISMetric's ann_file takes a path (text) "
     'or None, not a whole number'),
    ('optim_wrapper.optimizer.lr', [0.1], "SGD's lr takes a number, not a "
     'list'),
    ('train_dataloader.shuffle', 1, "DataLoader's shuffle takes True / "
     'False or None'),
    ('randomness.deterministic', 1, 'takes True / False, not a whole '
     'number'),
    ('default_hooks.checkpoint.interval', [1], "AtomicCheckpointHook's "
     'interval takes a whole number, not a list'),
    ('work_dir', 5, "Runner's work_dir takes a path (text)"),
    ('train_cfg.val_interval', 0, 'must be a whole number >= 1'),
    # mmdet's video sampler asserts on mmengine's dataset slice
    ('train_dataloader.num_batch_per_epoch', 1,
     'TrackImgSampler samples whole videos'),
])
def test_option_values_the_class_does_not_take(option, value, says):
    with pytest.raises(UserError) as error:
        _setup(STC, {option: value})
    message = str(error.value)
    assert message.startswith(f'--cfg-options {option}='), message
    assert says in message, message


@pytest.mark.parametrize('options', [
    {'train_cfg.max_epochs': 1},
    {'randomness.seed': None},
    {'randomness.seed': 2**32 - 1},
    {'train_dataloader.num_workers': 0},
    {'optim_wrapper.optimizer.lr': 1},  # a whole number is a number
    {'train_dataloader.dataset.ann_file': 'annotations/valid.json'},
    {'model.tracker.num_frames_retain': 10},
    {'train_dataloader.shuffle': None},
])
def test_option_values_the_class_takes(options, tmp_path):
    cfg = _setup(STC, options, tmp_path)
    for key, value in options.items():
        node = cfg
        for part in key.split('.'):
            node = node[part]
        assert node == value


def test_config_file_values_and_type_names(tmp_path):
    typo = tmp_path / 'typo.py'
    typo.write_text(f'_base_ = [{STC!r}]\n'
                    "model = dict(tracker=dict(type='STCTrackr'))\n")
    with pytest.raises(UserError, match=f"^{typo}: model.tracker.type="
                       r"'STCTrackr': no 'STCTrackr' in the MODELS "
                       r'registry \(did you mean STCTracker'):
        _setup(str(typo))
    value = tmp_path / 'value.py'
    value.write_text(f'_base_ = [{STC!r}]\n'
                     'train_dataloader = dict(batch_size=0)\n')
    with pytest.raises(UserError, match=f'^{value}: train_dataloader.'
                       'batch_size=0: the samples per process'):
        _setup(str(value))
    # a type given by --cfg-options is named as the option
    with pytest.raises(UserError, match=r'^--cfg-options model.tracker.type'
                       r"=STCTrackr: no 'STCTrackr'"):
        _setup(STC, {'model.tracker.type': 'STCTrackr'})
    # mmdet's RoI extractors build roi_layer from mmcv.ops
    roi = tmp_path / 'roi.py'
    roi.write_text(f'_base_ = [{MTR!r}]\nmodel = dict(track_head=dict('
                   "roi_extractor=dict(roi_layer=dict(type='RoIAlgn'))))\n")
    with pytest.raises(UserError, match=r"no 'RoIAlgn' in mmcv.ops \(did "
                       'you mean RoIAlign'):
        _setup(str(roi))
    # a box coder is built from TASK_UTILS, not MODELS
    coder = tmp_path / 'coder.py'
    coder.write_text(f'_base_ = [{MTR!r}]\nmodel = dict(detector=dict('
                     'rpn_head=dict(bbox_coder=dict(type='
                     "'DeltaXYWHBBoxCodr'))))\n")
    with pytest.raises(UserError, match='did you mean DeltaXYWHBBoxCoder'):
        _setup(str(coder))


@pytest.mark.slow
def test_every_config_of_the_package_passes():
    configs = sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py')))
    assert len(configs) > 40
    for config in configs:
        check_config_values(Config.fromfile(config))


def test_annotations_read_as_value_kinds():
    from mmvis_clip.engine.config_checks import (_annotation_kinds,
                                                 _text_kinds)
    assert _text_kinds('int | None') == {'int', 'none'}
    assert _text_kinds('Optional[Union[int, List[int]]]') == {
        'int', 'list', 'none'
    }
    assert _text_kinds('Sampler | Iterable | None') is None
    from typing import Dict, Optional, Sequence, Union

    import torch
    assert _annotation_kinds(Optional[str]) == {'str', 'none'}
    assert _annotation_kinds(Union[float, torch.Tensor]) == {'float'}
    assert _annotation_kinds(Sequence[int]) == {'list'}
    assert _annotation_kinds(Optional[Dict]) is None  # not checked


def _run(*cmd):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, *cmd], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize('tool, args, line', [
    ('train.py', ['--cfg-options', 'train_cfg.max_epochs=-1'],
     'error: --cfg-options train_cfg.max_epochs=-1: the epochs to train '
     'must be a whole number >= 1'),
    ('test.py', ['x.pth', '--cfg-options', 'test_evaluator.ann_file=[1]'],
     "error: --cfg-options test_evaluator.ann_file=[1]: VISMetric's "
     'ann_file takes a path (text) or None, not a list'),
])
def test_tools_say_one_line(tool, args, line):
    proc = _run(osp.join('tools', tool), STC, *args)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == line
