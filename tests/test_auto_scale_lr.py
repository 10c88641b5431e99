"""``--auto-scale-lr`` (mmdet's convention): every config states the total
batch its learning rate is set for, and the Runner scales the LR to the
actual one."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmvis_clip.engine import enable_auto_scale_lr
from mmvis_clip.utils.user_errors import UserError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                          recursive=True)
    if '_base_' not in path.split(os.sep))
STC_SYNTHETIC = osp.join(REPO, 'configs', 'stc',
                         'stc_r18_fpn_1xb4-8e_synthetic.py')
#: OpenMMLab naming: ``_8xb2-`` = 8 GPUs x 2 samples per GPU
GPUS_X_BATCH = re.compile(r'_(\d+)xb(\d+)-')


def test_every_config_is_found():
    # the methods' configs and the baseline's
    assert {c.split(os.sep)[1] for c in CONFIGS} == {
        'cico', 'masktrack_rcnn', 'stc'
    }
    assert 'configs/stc/stc_r50_fpn_8xb2-12e_youtubevis2019.py' in CONFIGS


@pytest.mark.parametrize('config', CONFIGS)
def test_base_batch_size_is_the_batch_of_the_config_name(config):
    match = GPUS_X_BATCH.search(osp.basename(config))
    assert match, f'{config}: no NxbM in the name'
    gpus, per_gpu = int(match[1]), int(match[2])
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr == dict(
        enable=False, base_batch_size=gpus * per_gpu)


class _ToyModel(BaseModel):
    """A linear layer with a zero loss: the weights and the LR stay as
    they are through a training step."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.sum() * 0)
        return out


def _toy_runner(work_dir, batch_size, auto_scale_lr):
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        experiment_name=osp.basename(work_dir),  # one per test
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(2)) for _ in range(4)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=batch_size,
            num_workers=0),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.02)),
        auto_scale_lr=auto_scale_lr,
        default_hooks=dict(checkpoint=None),
        log_level='WARNING')


@pytest.mark.parametrize('batch_size, auto_scale, lr', [
    (2, True, 0.02 * 2 / 16),  # 1 process x 2 of a 16-batch config
    (4, True, 0.02 * 4 / 16),
    (2, False, 0.02),  # without --auto-scale-lr the config's LR
])
def test_runner_scales_the_lr_on_one_process(tmp_path, batch_size,
                                             auto_scale, lr):
    """``tools/train.py --auto-scale-lr``'s setting, then mmengine's
    Runner: LR 0.02 set for a total batch of 16, one process."""
    cfg = Config(dict(auto_scale_lr=dict(enable=False, base_batch_size=16)))
    if auto_scale:
        assert enable_auto_scale_lr(cfg) == 16
        assert cfg.auto_scale_lr.enable is True
    runner = _toy_runner(tmp_path, batch_size, cfg.auto_scale_lr)
    runner.train()
    assert runner.world_size == 1
    groups = runner.optim_wrapper.optimizer.param_groups
    assert [g['lr'] for g in groups] == [pytest.approx(lr, rel=1e-12)]


@pytest.mark.parametrize('auto_scale_lr, says', [
    (None, 'has no auto_scale_lr.base_batch_size'),
    (dict(enable=False), 'has no auto_scale_lr.base_batch_size'),
    (dict(enable=False, base_batch_size=0), 'is 0, not a positive number'),
    (dict(enable=False, base_batch_size='16'),
     "is '16', not a positive number"),
])
def test_a_config_without_base_batch_size_is_refused(auto_scale_lr, says):
    cfg = Config(dict(auto_scale_lr=auto_scale_lr))
    with pytest.raises(UserError, match=says):
        enable_auto_scale_lr(cfg)


def test_train_tool_names_the_missing_key_in_one_line(tmp_path):
    config = tmp_path / 'no_base_batch.py'
    config.write_text(
        f'_base_ = {STC_SYNTHETIC!r}\n'
        'auto_scale_lr = dict(_delete_=True, enable=False)\n')
    proc = subprocess.run(
        [sys.executable,
         osp.join(REPO, 'tools', 'train.py'),
         str(config), '--auto-scale-lr', '--work-dir',
         str(tmp_path / 'w')],
        cwd=str(tmp_path),
        env=dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: --auto-scale-lr: {config} has no '
        'auto_scale_lr.base_batch_size (the total batch its learning rate '
        'is set for); add auto_scale_lr = dict(enable=False, '
        'base_batch_size=N)')
