"""``load_from`` checks shared by the tools (``mmvis_clip.engine.launch``)."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmvis_clip.engine import check_load_from, load_from_producer

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CICO = osp.join(REPO, 'configs', 'cico')


def test_load_from_producer_finds_the_config_that_writes_the_checkpoint():
    config = osp.join(CICO, 'cico-yolact_r18_fpn_1xb4-4e_synthetic.py')
    load_from = Config.fromfile(config).load_from
    assert load_from_producer(load_from, config) == (osp.join(
        CICO, 'cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py'), 'epoch_8.pth')
    # a leading ./ is normalised away
    assert load_from_producer('./' + load_from, config)[1] == 'epoch_8.pth'


@pytest.mark.parametrize('load_from', [
    None, '', 'https://download.openmmlab.com/x.pth', 'mmdet::x.pth',
    'work_dirs/no_such_config/epoch_8.pth', 'work_dirs/x.pth',
    'work_dirs/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic/sub/epoch_8.pth',
    'checkpoints/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic/epoch_8.pth'
])
def test_load_from_producer_none_for_other_paths(load_from):
    config = osp.join(CICO, 'cico-yolact_r18_fpn_1xb4-4e_synthetic.py')
    assert load_from_producer(load_from, config) is None


def test_check_load_from_names_the_config_to_train_first(tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)  # no work_dirs/ here
    config = osp.join(CICO, 'cico-condinst_r18_fpn_1xb4-4e_synthetic.py')
    cfg = Config.fromfile(config)
    with pytest.raises(FileNotFoundError) as error:
        check_load_from(cfg, config)
    message = str(error.value)
    assert message.startswith(f'{config}: load_from {cfg.load_from!r}')
    assert 'python tools/train.py ' + osp.join(
        CICO, 'cico-condinst_r18_fpn_fifo_1xb4-8e_synthetic.py') in message

    # once the producer has been trained, the check passes
    ckpt = tmp_path / cfg.load_from
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b'')
    check_load_from(cfg, config)


def test_check_load_from_other_missing_files_and_remote_paths(tmp_path):
    config = str(tmp_path / 'model.py')
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='does not exist.$'):
        check_load_from(Config(dict(load_from=missing)), config)
    for load_from in (None, 'https://example.com/model.pth',
                      'torchvision://resnet18'):
        check_load_from(Config(dict(load_from=load_from)), config)


def test_cuda_determinism_is_relaxed_with_one_message(monkeypatch):
    import torch
    from mmengine.config import Config

    from mmvis_clip.engine import relax_cuda_determinism
    cfg = Config(dict(randomness=dict(seed=0, deterministic=True)))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert not relax_cuda_determinism(cfg)  # CPU: torch's setting stays
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    import mmengine.logging
    messages = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    assert not relax_cuda_determinism(Config(dict(randomness=dict(seed=0))))
    torch.use_deterministic_algorithms(True)
    try:
        assert relax_cuda_determinism(cfg)
        assert len(messages) == 1
        assert 'upsample_bilinear2d backward' in messages[0]
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
