"""``tools/train.py --resume`` of a checkpoint that does not continue the
run: refused in one line, or one warning line saying what starts afresh
(``mmvis_clip.engine.resume_check_hook.ResumeCheckHook``).

A tiny STC run (one video of two 64x96 frames, batch 1: two iterations)
writes ``epoch_1.pth`` once; each case resumes it, or a copy changed as a
user's checkpoint could be, with ``max_epochs=1`` (nothing left to train
once the checks pass).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STC = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')
OPTIONS = [
    f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
] + ['train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
     'default_hooks.logger.interval=1']


def _train(data, work_dir, *extra, batch_size=1):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, 'tools/train.py', STC, '--data-root', data,
         '--work-dir', str(work_dir)] + list(extra) +
        ['--cfg-options'] + OPTIONS +
        [f'train_dataloader.batch_size={batch_size}'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """``(data root, epoch_1.pth)`` of a one-epoch run."""
    from mmvis_clip.datasets.synthetic import make_synthetic_vis
    root = str(tmp_path_factory.mktemp('data'))
    make_synthetic_vis(root, num_videos=1, num_frames=2, size=(64, 96),
                       seed=0, show_progress=False, num_valid=1)
    work = tmp_path_factory.mktemp('work')
    proc = _train(root, work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, str(work / 'epoch_1.pth')


def _variant(trained, tmp_path, change):
    checkpoint = torch.load(trained[1], map_location='cpu',
                            weights_only=False)
    change(checkpoint)
    path = str(tmp_path / 'changed.pth')
    torch.save(checkpoint, path)
    return path


def _refused(proc, *says):
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: --resume: checkpoint '), last
    for text in says:
        assert text in last, last
    return last


def _resume_warnings(proc):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return [
        line for line in out.splitlines()
        if 'WARNING - --resume: checkpoint' in line
    ]


def _shrink_classifier(checkpoint):
    key = 'detector.bbox_head.conv_cls.weight'
    value = checkpoint['state_dict'][key]
    checkpoint['state_dict'][key] = torch.zeros((8, ) + value.shape[1:])


@pytest.mark.slow
@pytest.mark.parametrize('case, change, extra, says', [
    ('no message hub', lambda c: c.pop('message_hub'), [],
     ['has no message_hub', 'load_from=']),
    ('other shapes', _shrink_classifier, [],
     ['is not of the model of', 'detector.bbox_head.conv_cls.weight (8, '
      '64, 3, 3) in the checkpoint, (6, 64, 3, 3) in the model']),
    ('other parameter groups', None,
     ['optim_wrapper.paramwise_cfg.norm_decay_mult=0.0'],
     ['its optimizer has 2 parameter groups (122, 11 tensors), this run\'s '
      '133 parameter groups (1, 1, 1, 1, ... tensors)']),
    ('fewer schedulers', lambda c: c['param_schedulers'].pop(), [],
     ['has 1 parameter scheduler(s), this run 2']),
])
def test_resume_refused(trained, tmp_path, case, change, extra, says):
    path = trained[1] if change is None else _variant(
        trained, tmp_path, change)
    args = ['--resume', path]
    if extra:
        args += ['--cfg-options'] + extra
    _refused(_train(trained[0], tmp_path / 'work', *args), path, *says)


@pytest.mark.slow
def test_resume_without_optimizer_state_says_what_starts_afresh(
        trained, tmp_path):
    def drop(checkpoint):
        checkpoint.pop('optimizer')
        checkpoint.pop('param_schedulers')

    path = _variant(trained, tmp_path, drop)
    warnings = _resume_warnings(
        _train(trained[0], tmp_path / 'work', '--resume', path))
    assert len(warnings) == 1, warnings
    assert warnings[0].endswith(
        f'--resume: checkpoint {path} has no optimizer state: the optimizer '
        'starts afresh (momentum and adaptive moments at zero); no '
        'parameter scheduler state: the learning rate schedule starts '
        'again from its first step')


@pytest.mark.slow
def test_resume_with_another_batch_size_says_so(trained, tmp_path):
    warnings = _resume_warnings(
        _train(trained[0], tmp_path / 'work', '--resume', trained[1],
               batch_size=2))
    assert len(warnings) == 1, warnings
    assert f'--resume: checkpoint {trained[1]} was trained with a total ' \
        'batch of 1 (1 per process x 1 process), this run takes a total ' \
        'batch of 2 (2 per process x 1 process): each epoch has another ' \
        'number of iterations' in warnings[0]
    # the checkpoint itself resumes without a word
    assert _resume_warnings(
        _train(trained[0], tmp_path / 'again', '--resume',
               trained[1])) == []
