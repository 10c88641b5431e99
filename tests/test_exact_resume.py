"""A training run killed with SIGKILL and resumed with ``--resume`` ends
with the same bits as the uninterrupted run (``RngStateHook``).

The end-to-end test trains a tiny STC for 2 epochs (seed 0, deterministic)
three times through ``tools/train.py`` in subprocesses: uninterrupted;
killed before an iteration of epoch 2; resumed from the killed run's
``epoch_1.pth``. Every tensor of the final model and optimizer state must
be equal. The other tests check the pieces in-process.
"""
import os
import os.path as osp
import random
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from torch.utils.data import DataLoader, Dataset

from mmvis_clip.engine.rng_state_hook import (RestoreWorkerRngState,
                                              WorkerRngStateCollate,
                                              _worker_state_to_saved,
                                              find_rng_owners, owner_rng_state,
                                              process_rng_state,
                                              set_owner_rng_state,
                                              set_process_rng_state)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS = osp.join(REPO, 'tests')
STC_CONFIG = osp.join(REPO, 'configs', 'stc',
                      'stc_r18_fpn_1xb4-8e_synthetic.py')

#: The synthetic STC config, narrower (ResNet-18 of width 16, 32-channel
#: FPN and heads), on 64x96 frames, 2 epochs of batches of 4, seed 0,
#: deterministic, one persistent worker (as the synthetic config).
TINY_STC = """
_base_ = {base!r}
custom_imports = dict(
    imports=['mmvis_clip', 'resume_kill_hook'], allow_failed_imports=False)
gn8 = dict(type='GN', num_groups=8, requires_grad=True)
model = dict(
    detector=dict(
        backbone=dict(base_channels=16),
        neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
        bbox_head=dict(in_channels=32, feat_channels=32, norm_cfg=gn8),
        mask_head=dict(
            mask_feature_head=dict(in_channels=32, feat_channels=32))),
    track_head=dict(
        in_channels=32, feat_channels=32, embed_dim=16, norm_cfg=gn8))
train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=10,
         filter_key_img=True),
    dict(type='TransformBroadcaster', share_random_params=True,
         transforms=[
             dict(type='LoadImageFromFile'),
             dict(type='LoadTrackAnnotations', with_mask=True),
             dict(type='Resize', scale=(96, 64), keep_ratio=True),
             dict(type='RandomFlip', prob=0.5)]),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=True,
    dataset=dict(data_root={root!r}, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file={root!r} + 'annotations/valid.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=2, val_begin=3)
randomness = dict(seed=0, deterministic=True)
default_hooks = dict(logger=dict(interval=1))
custom_hooks = [dict(type='KillAtIterHook')]
"""


def _run_train(config, work_dir, *extra, kill_at=None):
    """Run tools/train.py; returns ``(exit status, stdout + stderr)``.

    The output goes to a file, not a pipe, and the process group is killed
    at the end: the dataloader worker of a killed run outlives it (its
    queue feeder can block forever writing to a pipe whose reading end it
    holds itself) and would keep a pipe open.
    """
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([REPO, TESTS]),
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1')
    env.pop('MMVIS_KILL_AT_ITER', None)
    if kill_at is not None:
        env['MMVIS_KILL_AT_ITER'] = str(kill_at)
    log_path = f'{work_dir}.out'
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, 'tools/train.py', config, '--work-dir',
             work_dir] + list(extra),
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            returncode = proc.wait(timeout=1200)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    with open(log_path) as f:
        return returncode, f.read()


def _tensors(obj, prefix=''):
    """Every tensor in a nested state, by path."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _tensors(value, f'{prefix}/{key}')
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _tensors(value, f'{prefix}/{i}')


def _final_state(work_dir):
    ckpt = torch.load(
        osp.join(work_dir, 'epoch_2.pth'), map_location='cpu',
        weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    return dict(_tensors({
        'state_dict': ckpt['state_dict'],
        'optimizer': ckpt['optimizer']
    }))


def _mismatches(a, b):
    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.fixture(scope='module')
def tiny_stc(make_tiny_synthetic, tmp_path_factory):
    root = make_tiny_synthetic(num_videos=4, num_frames=3, seed=3)
    config = tmp_path_factory.mktemp('cfg') / 'tiny_stc.py'
    config.write_text(TINY_STC.format(base=STC_CONFIG, root=root))
    return str(config)


@pytest.mark.slow
def test_killed_and_resumed_run_equals_uninterrupted(tiny_stc, tmp_path):
    # 12 training frames with instances: 3 iterations per epoch
    full = str(tmp_path / 'full')
    returncode, log = _run_train(tiny_stc, full)
    assert returncode == 0, log[-3000:]
    assert 'Epoch(train) [2][3/3]' in log

    killed = str(tmp_path / 'killed')
    # killed before iteration 5 of 6, the 2nd of epoch 2
    returncode, log = _run_train(tiny_stc, killed, kill_at=4)
    assert returncode == -signal.SIGKILL, log[-3000:]
    assert 'Epoch(train) [2][1/3]' in log
    assert sorted(os.listdir(killed)).count('epoch_1.pth') == 1
    assert not osp.exists(osp.join(killed, 'epoch_2.pth'))
    # the state of a work dir written before atomic checkpoints: no
    # last_checkpoint, a partial epoch_2.pth; --resume takes epoch_1.pth
    os.remove(osp.join(killed, 'last_checkpoint'))
    with open(osp.join(killed, 'epoch_1.pth'), 'rb') as f:
        partial = f.read(4096)
    with open(osp.join(killed, 'epoch_2.pth'), 'wb') as f:
        f.write(partial)

    returncode, log = _run_train(tiny_stc, killed, '--resume')
    assert returncode == 0, log[-3000:]
    assert 'Traceback' not in log
    assert ('has no last_checkpoint; resuming from the newest readable '
            f'checkpoint {osp.join(killed, "epoch_1.pth")} (epoch 1, '
            'iteration 3); skipped: checkpoint '
            f'{osp.join(killed, "epoch_2.pth")} is truncated') in log
    assert 'resumed epoch: 1, iter: 3' in log
    assert 'Random-number states restored from' in log
    assert 'will not repeat' not in log

    expected, resumed = _final_state(full), _final_state(killed)
    assert len(expected) > 200
    assert _mismatches(expected, resumed) == []


def test_process_states_round_trip_through_a_weights_only_checkpoint(
        tmp_path):
    state = process_rng_state()
    path = tmp_path / 'rng.pth'
    torch.save({'rng_state': state}, path)
    draws = (random.random(), np.random.rand(3), torch.rand(3))
    loaded = torch.load(path, weights_only=True)['rng_state']
    assert set_process_rng_state(loaded) == []
    again = (random.random(), np.random.rand(3), torch.rand(3))
    assert draws[0] == again[0]
    assert np.array_equal(draws[1], again[1])
    assert torch.equal(draws[2], again[2])


class _Owner(nn.Module):

    def __init__(self):
        super().__init__()
        self.child = nn.Linear(2, 2)
        self.child.gen = torch.Generator().manual_seed(1)
        self.np_gen = np.random.default_rng(2)
        self.legacy = np.random.RandomState(3)
        self.table = {'py': random.Random(4)}
        self.big = torch.zeros(3)  # a plain tensor attribute: not looked at


def _owner_draws(model):
    return (torch.rand(2, generator=model.child.gen).tolist(),
            model.np_gen.random(2).tolist(), model.legacy.rand(2).tolist(),
            model.table['py'].random())


def test_model_generators_are_found_and_restored():
    model = _Owner()
    owners = find_rng_owners(model)
    assert sorted(owners) == [
        'child.gen', 'legacy', 'np_gen', "table['py']"
    ]
    saved = {p: owner_rng_state(o) for p, o in owners.items()}
    draws = _owner_draws(model)
    for path, owner in find_rng_owners(model).items():
        set_owner_rng_state(owner, saved[path])
    assert _owner_draws(model) == draws


def test_stc_contrastive_sampler_generator_is_saved_and_restored():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(STC_CONFIG).model
    model = MODELS.build(cfg)
    owners = find_rng_owners(model)
    assert list(owners) == ['track_head.sampler']
    sampler = owners['track_head.sampler']
    sampler._uniform((4, ), 'cpu')  # made at the first draw
    saved = owner_rng_state(sampler)
    draws = sampler._uniform((5, ), 'cpu')
    # a new model (resumed run) has no generator until it is restored
    fresh = find_rng_owners(MODELS.build(cfg))['track_head.sampler']
    assert fresh.rng_state_dict() == {}
    set_owner_rng_state(fresh, saved)
    assert torch.equal(fresh._uniform((5, ), 'cpu'), draws)


class _RandomDataset(Dataset):
    """Each item draws from the worker's three process-wide generators."""

    def __len__(self):
        return 4

    def __getitem__(self, idx):
        return dict(
            x=torch.tensor([
                random.random(),
                float(np.random.rand()),
                float(torch.rand(()))
            ]))


def _seeded_worker(worker_id):
    # mmengine's worker_init_fn: the same seed whenever a worker starts
    random.seed(7 + worker_id)
    np.random.seed(7 + worker_id)
    torch.manual_seed(7 + worker_id)


def _collate(batch):
    return dict(x=torch.stack([b['x'] for b in batch]))


def _loader(worker_init_fn):
    return DataLoader(
        _RandomDataset(),
        batch_size=2,
        num_workers=1,
        persistent_workers=True,
        worker_init_fn=worker_init_fn,
        collate_fn=WorkerRngStateCollate(_collate))


def test_persistent_worker_states_continue_in_a_resumed_loader():
    loader = _loader(_seeded_worker)
    states = {}
    epochs = []
    for _ in range(2):
        batches = []
        for batch in loader:
            worker_id, state = batch.pop('_worker_rng_state')
            if not epochs:  # the states at the end of epoch 1
                states[worker_id] = _worker_state_to_saved(state)
            batches.append(batch['x'])
        epochs.append(torch.cat(batches))
    # a persistent worker's epoch 2 continues epoch 1's stream
    assert not torch.equal(epochs[0], epochs[1])
    fresh = _loader(_seeded_worker)
    assert torch.equal(torch.cat([b['x'] for b in fresh]), epochs[0])
    resumed = _loader(RestoreWorkerRngState(_seeded_worker, states))
    assert torch.equal(torch.cat([b['x'] for b in resumed]), epochs[1])
