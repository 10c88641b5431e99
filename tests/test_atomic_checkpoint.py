"""Checkpoints are never left half-written (``AtomicCheckpointHook``), and
``tools/train.py --resume`` says what it resumes from or refuses.

The kill tests run a toy Runner in a subprocess whose checkpoint writes
are cut short: the file object used for the temporary writes half of the
bytes and then the process kills itself with SIGKILL.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from mmvis_clip.engine.atomic_checkpoint import (configure_resume,
                                                 find_resume_checkpoint,
                                                 read_training_meta,
                                                 remove_stale_temporaries)
from mmvis_clip.utils.user_errors import UserError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: A toy Runner (2 epochs of 2 iterations, a checkpoint every epoch, the
#: last one kept) whose write of a file named ``.<argv[2]>.*`` (a
#: temporary of AtomicCheckpointHook) stops half-way with SIGKILL.
TOY_RUN = textwrap.dedent("""
    import builtins, os, os.path as osp, signal, sys
    import torch, torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    from torch.utils.data import Dataset
    import mmvis_clip.engine.atomic_checkpoint as atomic_checkpoint

    work_dir, kill_on = sys.argv[1], sys.argv[2]
    real_open = builtins.open

    class Dying:
        def __init__(self, f):
            self.f = f
        def write(self, data):
            self.f.write(data[:len(data) // 2])
            self.f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        def __enter__(self):
            return self
        def __exit__(self, *args):
            return self.f.__exit__(*args)
        def __getattr__(self, name):
            return getattr(self.f, name)

    def dying_open(path, mode='r', *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        if 'w' in mode and osp.basename(path).startswith(f'.{kill_on}.'):
            return Dying(f)
        return f

    atomic_checkpoint.open = dying_open

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(64, 64)
        def forward(self, inputs, mode='tensor'):
            return dict(loss=self.linear(torch.stack(inputs)).pow(2).mean())

    class Data(Dataset):
        def __len__(self):
            return 4
        def __getitem__(self, idx):
            return dict(inputs=torch.full((64, ), float(idx)))

    runner = Runner(
        model=Toy(), work_dir=work_dir,
        train_dataloader=dict(
            dataset=Data(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(checkpoint=dict(
            type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1)),
        resume=len(sys.argv) > 3, default_scope='mmdet',
        experiment_name=osp.basename(work_dir) + str(len(sys.argv)))
    runner.train()
""")


def _toy(tmp_path, work_dir, kill_on, resume=False):
    script = tmp_path / 'toy_run.py'
    script.write_text(TOY_RUN)
    cmd = [sys.executable, str(script), str(work_dir), kill_on]
    if resume:
        cmd.append('resume')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)


def _pointer(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read()


def _temporaries(work_dir):
    return sorted(n for n in os.listdir(work_dir) if n.endswith('.tmp'))


@pytest.mark.slow
def test_kill_during_a_checkpoint_write_leaves_the_previous_one(tmp_path):
    work_dir = tmp_path / 'work'
    proc = _toy(tmp_path, work_dir, 'epoch_2.pth')
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    epoch_1 = osp.join(work_dir, 'epoch_1.pth')
    # nothing under the final name; max_keep_ckpts=1 kept epoch 1 (mmengine
    # deletes it before writing epoch 2); the pointer still names it
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    assert read_training_meta(epoch_1) == (1, 2)
    assert _pointer(work_dir) == epoch_1
    [tmp] = _temporaries(work_dir)
    assert tmp.startswith('.epoch_2.pth.')
    assert 0 < osp.getsize(osp.join(work_dir, tmp)) < osp.getsize(epoch_1)

    # the next run removes the partial file, resumes and finishes
    proc = _toy(tmp_path, work_dir, 'none', resume=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f'Removed {osp.join(work_dir, tmp)}: the partial file of a ' \
        'save that was interrupted' in log
    assert 'resumed epoch: 1, iter: 2' in log
    assert _temporaries(work_dir) == []
    assert read_training_meta(osp.join(work_dir, 'epoch_2.pth')) == (2, 4)
    assert not osp.exists(epoch_1)
    assert _pointer(work_dir) == osp.join(work_dir, 'epoch_2.pth')


@pytest.mark.slow
def test_kill_during_the_pointer_write_keeps_the_old_pointer(tmp_path):
    work_dir = tmp_path / 'work'
    # killed writing last_checkpoint for epoch 1 (the first save): the
    # checkpoint is complete, no pointer is left half-written
    proc = _toy(tmp_path, work_dir, 'last_checkpoint')
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert read_training_meta(osp.join(work_dir, 'epoch_1.pth')) == (1, 2)
    assert not osp.exists(osp.join(work_dir, 'last_checkpoint'))
    assert [t.startswith('.last_checkpoint.') for t in
            _temporaries(work_dir)] == [True]


def _save(path, meta):
    torch.save({'meta': meta, 'state_dict': {'w': torch.zeros(8)}}, path)


def _truncate(path):
    with open(path, 'rb') as f:
        head = f.read(200)
    with open(path, 'wb') as f:
        f.write(head)


def test_resume_takes_the_pointer_checkpoint(tmp_path):
    _save(tmp_path / 'epoch_1.pth', dict(epoch=1, iter=3))
    _save(tmp_path / 'epoch_2.pth', dict(epoch=2, iter=6))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == (
        str(tmp_path / 'epoch_1.pth'), None)


def test_resume_without_pointer_takes_the_newest_readable(tmp_path):
    _save(tmp_path / 'epoch_1.pth', dict(epoch=1, iter=3))
    _save(tmp_path / 'epoch_2.pth', dict(epoch=2, iter=6))
    _save(tmp_path / 'epoch_3.pth', dict(epoch=3, iter=9))
    _truncate(tmp_path / 'epoch_3.pth')
    (tmp_path / 'notes.txt').write_text('not a checkpoint')
    path, note = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_2.pth')
    assert note.startswith(
        f'--resume: {tmp_path} has no last_checkpoint; resuming from the '
        f'newest readable checkpoint {path} (epoch 2, iteration 6); '
        f'skipped: checkpoint {tmp_path / "epoch_3.pth"} is truncated')
    # a pointer to a partial file: the same, saying so
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    path, note = find_resume_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_2.pth')
    assert note.startswith('--resume: last_checkpoint is unusable '
                           f'(checkpoint {tmp_path / "epoch_3.pth"} is '
                           'truncated')


def test_resume_refuses_when_no_checkpoint_is_readable(tmp_path):
    _save(tmp_path / 'epoch_1.pth', dict(epoch=1, iter=3))
    _truncate(tmp_path / 'epoch_1.pth')
    with pytest.raises(UserError) as error:
        find_resume_checkpoint(str(tmp_path))
    assert str(error.value).startswith(
        f'--resume: {tmp_path} has no last_checkpoint and none of its '
        f'checkpoints can be resumed from: checkpoint '
        f'{tmp_path / "epoch_1.pth"} is truncated')
    # a pointer to a file that is gone, nothing else
    os.remove(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(UserError, match='no other checkpoint'):
        find_resume_checkpoint(str(tmp_path))


def test_resume_in_an_empty_work_dir_trains_from_the_start(tmp_path):
    from mmengine.config import Config
    assert find_resume_checkpoint(str(tmp_path)) == (None, None)
    cfg = Config(dict(work_dir=str(tmp_path), load_from='init.pth'))
    configure_resume(cfg, 'auto')
    # a fresh run, with the config's initialisation
    assert cfg.resume is False and cfg.load_from == 'init.pth'


def test_resume_checkpoint_without_epoch_is_refused(tmp_path):
    path = tmp_path / 'published.pth'
    torch.save({'meta': {'iter': 3}, 'state_dict': {}}, path)
    with pytest.raises(UserError, match=f'checkpoint {path} has no '
                       'meta.epoch: it is not a training checkpoint'):
        read_training_meta(str(path))


def test_stale_temporaries_of_checkpoints_only_are_removed(tmp_path):
    names = ['.epoch_3.pth.ab12_XYZ.tmp', '.last_checkpoint.k2j4h5g6.tmp',
             '.results.json.abcdefgh.tmp', 'epoch_3.pth', '.epoch_3.pth.x.tmp']
    for name in names:
        (tmp_path / name).write_bytes(b'x')
    removed = remove_stale_temporaries(str(tmp_path))
    assert [osp.basename(p) for p in removed] == names[:2]
    assert sorted(os.listdir(tmp_path)) == sorted(names[2:])


def _train_tool(config, *args):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, 'tools/train.py', config] + list(args),
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')


@pytest.mark.parametrize('case', ['truncated', 'no-epoch'])
def test_train_tool_resume_errors_name_the_file(tmp_path, case):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    ckpt = work_dir / 'epoch_1.pth'
    if case == 'truncated':
        # a kill during the first save with mmengine's hook
        _save(ckpt, dict(epoch=1, iter=3))
        _truncate(ckpt)
        args = ['--resume']
        expected = (f'error: --resume: {work_dir} has no last_checkpoint '
                    'and none of its checkpoints can be resumed from: '
                    f'checkpoint {ckpt} is truncated')
    else:
        torch.save({'meta': {}, 'state_dict': {}}, ckpt)
        args = ['--resume', str(ckpt)]
        expected = f'error: checkpoint {ckpt} has no meta.epoch / meta.iter'
    proc = _train_tool(CONFIG, '--work-dir', str(work_dir), *args)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(expected)
