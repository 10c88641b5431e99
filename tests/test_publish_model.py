"""tools/model_converters/publish_model.py on a real Runner checkpoint."""
import contextlib
import hashlib
import importlib.util
import io
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / 'tools' / 'model_converters' / 'publish_model.py'
_spec = importlib.util.spec_from_file_location('publish_model', SCRIPT)
publish_model = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publish_model)


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.norm = nn.BatchNorm1d(2)  # has buffers (running stats)

    def forward(self, inputs, labels, mode='tensor'):
        out = self.norm(self.linear(torch.stack(inputs)))
        if mode == 'loss':
            return dict(loss=((out.sum(1) - torch.stack(labels))**2).mean())
        return out


class ToyDataset(Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(
            inputs=torch.linspace(0, 1, 3) * idx,
            labels=torch.tensor(float(idx)))


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """A checkpoint as mmengine's Runner writes it: weights, meta,
    SGD-with-momentum state, param scheduler and message hub."""
    work_dir = tmp_path_factory.mktemp('train')
    runner = Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=4,
            num_workers=0),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmengine',
        experiment_name=f'publish_{work_dir.name}')
    runner.train()
    path = work_dir / 'epoch_1.pth'
    # Read it the way the tool does (the package's allow-list is active).
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    assert {'optimizer', 'param_schedulers', 'message_hub'} <= set(checkpoint)
    assert checkpoint['optimizer']['state']  # momentum buffers
    return path, checkpoint


def _run_main(argv):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        publish_model.main(argv)
    return stdout.getvalue().splitlines()


def test_publish_keeps_weights_and_meta_only(runner_checkpoint, tmp_path):
    in_path, original = runner_checkpoint
    out_dir = tmp_path / 'published'
    lines = _run_main([str(in_path), str(out_dir / 'toy_model.pth')])

    final = Path(lines[-1])
    assert final.parent == out_dir
    match = re.fullmatch(r'toy_model-([0-9a-f]{8})\.pth', final.name)
    assert match is not None
    data = final.read_bytes()
    assert hashlib.sha256(data).hexdigest()[:8] == match.group(1)
    assert sorted(os.listdir(out_dir)) == [final.name]  # no temp files

    published = torch.load(final, map_location='cpu', weights_only=True)
    assert sorted(published) == ['meta', 'state_dict']
    assert published['meta'] == original['meta']
    assert published['meta']['dataset_meta'] == dict(classes=('a', 'b'))
    state = original['state_dict']
    assert sorted(published['state_dict']) == sorted(state)
    assert 'norm.running_mean' in state
    for key, value in state.items():
        assert torch.equal(published['state_dict'][key], value), key
    removed = lines[0].split('; removed: ')
    assert removed[0] == 'kept: meta, state_dict'
    assert sorted(removed[1].split(', ')) == [
        'message_hub', 'optimizer', 'param_schedulers'
    ]


def test_published_file_loads_without_the_allow_list(runner_checkpoint,
                                                     tmp_path):
    # The training checkpoint needs mmvis_clip's allow-list (it holds
    # HistoryBuffer objects); the published one loads in a plain process.
    in_path, _ = runner_checkpoint
    final = publish_model.publish_checkpoint(
        str(in_path), str(tmp_path / 'm.pth'), verbose=False)
    code = ('import sys, torch\n'
            'for p in sys.argv[1:]:\n'
            '    try:\n'
            '        c = torch.load(p, map_location="cpu", '
            'weights_only=True)\n'
            '        print(sorted(c))\n'
            '    except Exception as e:\n'
            '        print(type(e).__name__)\n')
    out = subprocess.run([sys.executable, '-c', code, final,
                          str(in_path)],
                         capture_output=True,
                         text=True,
                         check=True).stdout.splitlines()
    assert out == ["['meta', 'state_dict']", 'UnpicklingError']


def test_same_checkpoint_gives_same_name(runner_checkpoint, tmp_path):
    in_path, _ = runner_checkpoint
    first = publish_model.publish_checkpoint(
        str(in_path), str(tmp_path / 'a' / 'm.pth'), verbose=False)
    second = publish_model.publish_checkpoint(
        str(in_path), str(tmp_path / 'b' / 'm.pth'), verbose=False)
    assert os.path.basename(first) == os.path.basename(second)
    assert Path(first).read_bytes() == Path(second).read_bytes()
    # --save-keys changes the content and therefore the hash
    weights_only = publish_model.publish_checkpoint(
        str(in_path), str(tmp_path / 'c' / 'm.pth'), ['state_dict'],
        verbose=False)
    assert os.path.basename(weights_only) != os.path.basename(first)
    assert sorted(torch.load(weights_only, weights_only=True)) == [
        'state_dict'
    ]


class _RunsCode:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_errors_name_the_file(runner_checkpoint, tmp_path):
    in_path, _ = runner_checkpoint
    out = str(tmp_path / 'out' / 'm.pth')

    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(SystemExit, match=f'{re.escape(missing)}: no such'):
        publish_model.main([missing, out])

    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint\n')
    with pytest.raises(SystemExit,
                       match=f'{re.escape(str(text))}: not a PyTorch'):
        publish_model.main([str(text), out])

    bare = tmp_path / 'bare.pth'
    torch.save({'weights': {'w': torch.zeros(2)}}, bare)
    with pytest.raises(SystemExit, match=r'bare\.pth: not an mmengine '
                       r'checkpoint.*"state_dict".*\[\'weights\'\]'):
        publish_model.main([str(bare), out])

    marker = tmp_path / 'code_ran'
    evil = tmp_path / 'evil.pth'
    with open(evil, 'wb') as f:
        pickle.dump({'state_dict': {}, 'x': _RunsCode(marker)}, f,
                    protocol=2)
    with pytest.raises(SystemExit,
                       match=r'evil\.pth: refused by torch\.load\('
                       r'weights_only=True\).*system'):
        publish_model.main([str(evil), out])
    assert not marker.exists()

    with pytest.raises(SystemExit, match=r'm\.pt: .*must end in \.pth'):
        publish_model.main([str(in_path), str(tmp_path / 'm.pt')])
    with pytest.raises(SystemExit, match='must include "state_dict"'):
        publish_model.main([str(in_path), out, '--save-keys', 'meta'])
    assert not (tmp_path / 'out').exists()  # nothing written on errors
