"""mmengine checkpoints load under torch's weights-only default; code doesn't.

mmengine 0.10 calls ``torch.load(filename, map_location=...)``; since
torch 2.6 that means ``weights_only=True``, and without the allow-list in
``mmvis_clip.utils.checkpoint_safety`` loading or resuming a Runner
checkpoint raises ``UnpicklingError``.
"""
import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from torch.utils.data import Dataset

import mmvis_clip  # noqa: F401
from mmvis_clip.utils.checkpoint_safety import checkpoint_safe_globals


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            err = out.squeeze(1) - torch.stack(labels)
            return dict(loss=(err**2).mean())
        return out


class ToyDataset(Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(inputs=torch.full((2, ), float(idx)),
                    labels=torch.tensor(float(idx)))


def _runner(work_dir, max_epochs, **kwargs):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=4,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.001)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmengine',
        experiment_name=f'toy_{os.path.basename(str(work_dir))}_{max_epochs}',
        **kwargs)


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ckpt')
    runner = _runner(work_dir, max_epochs=1)
    runner.train()
    return work_dir, work_dir / 'epoch_1.pth', runner.model.state_dict()


def test_runner_checkpoint_holds_non_tensor_types(runner_checkpoint):
    # Guard that the checkpoint really exercises the allow-list: it holds
    # HistoryBuffer objects (with NumPy arrays inside).
    _, ckpt, _ = runner_checkpoint
    ckpt_obj = torch.load(ckpt, map_location='cpu')
    buffers = ckpt_obj['message_hub']['log_scalars']
    assert buffers and all(
        isinstance(b, HistoryBuffer) for b in buffers.values())
    assert isinstance(buffers['train/loss']._log_history, np.ndarray)


def test_weights_only_is_torch_default():
    # The fix is only meaningful where torch.load defaults to weights-only.
    import inspect
    default = inspect.signature(torch.load).parameters['weights_only'].default
    assert default in (None, True)


def test_load_checkpoint_with_weights_only(runner_checkpoint):
    _, ckpt, state = runner_checkpoint
    model = ToyModel()
    load_checkpoint(model, str(ckpt), map_location='cpu')
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value)


def test_runner_resumes(runner_checkpoint, tmp_path):
    _, ckpt, state = runner_checkpoint
    runner = _runner(tmp_path, max_epochs=2, resume=True, load_from=str(ckpt))
    runner.train()
    assert runner.epoch == 2
    # resumed from epoch 1 (iteration counter carried over), not restarted
    assert runner.iter == 4
    # the message hub's loss history came back from the checkpoint:
    # 2 logged values from epoch 1 plus 2 from epoch 2
    log_history, _ = runner.message_hub.get_scalar('train/loss').data
    assert len(log_history) == 4


class _RunsCode:

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null', ))


def test_pickle_that_runs_code_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        # protocol 2, as torch.save writes
        pickle.dump({'state_dict': {}, 'x': _RunsCode()}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match='os.system|system'):
        torch.load(path, map_location='cpu')


def test_getattr_in_a_checkpoint_only_reaches_history_buffer_methods(
        tmp_path):
    path = tmp_path / 'getattr.pth'
    with open(path, 'wb') as f:
        # getattr(HistoryBuffer, '__init__').__globals__ would reach modules
        pickle.dump({'x': _GetattrReduce(HistoryBuffer, '__init__')}, f,
                    protocol=2)
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        torch.load(path, map_location='cpu')
    with open(path, 'wb') as f:
        # any other class's attribute, even of an allow-listed class
        pickle.dump({'x': _GetattrReduce(np.ndarray, 'tofile')}, f,
                    protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, map_location='cpu')


class _GetattrReduce:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


def test_allow_list_is_small_and_has_no_callables_that_run_code():
    names = {
        getattr(e[0] if isinstance(e, tuple) else e, '__name__', '')
        for e in checkpoint_safe_globals()
    }
    assert 'HistoryBuffer' in names
    assert not names & {'system', 'eval', 'exec', 'getattr', 'ObjectDType'}
