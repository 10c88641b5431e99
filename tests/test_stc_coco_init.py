"""STC takes every weight of mmdet's COCO CondInst R50 through `load_from`."""
import os.path as osp

import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner import Runner

import mmvis_clip  # noqa: F401

register_all_modules()


CONFIG = osp.join(
    osp.dirname(__file__), '..', 'configs', 'stc',
    'stc_r50_fpn_8xb2-12e_youtubevis2019.py')


def test_condinst_checkpoint_loads_into_stc(tmp_path):
    torch.manual_seed(0)
    condinst_cfg = get_config(
        'mmdet::condinst/condinst_r50_fpn_ms-poly-90k_coco_instance.py').model
    condinst_cfg.backbone.init_cfg = None
    condinst = MODELS.build(condinst_cfg)
    condinst.init_weights()
    coco = {k: v.clone() for k, v in condinst.state_dict().items()}
    ckpt = str(tmp_path / 'condinst_coco.pth')
    torch.save({'state_dict': coco, 'meta': {}}, ckpt)

    cfg = Config.fromfile(CONFIG)
    stc = MODELS.build(cfg.model)
    stc.init_weights()
    track_before = {
        k: v.clone()
        for k, v in stc.state_dict().items() if k.startswith('track_head.')
    }
    # the route `load_from = ...` takes in a training run
    runner = Runner(
        model=stc, work_dir=str(tmp_path / 'work'), default_scope='mmdet')
    runner.load_checkpoint(ckpt)

    loaded = stc.state_dict()
    # 40 YouTube-VIS classes vs 80 COCO classes: only the classifier
    # cannot be taken.
    skipped = {
        'detector.bbox_head.conv_cls.weight',
        'detector.bbox_head.conv_cls.bias'
    }
    for key, value in coco.items():
        name = 'detector.' + key
        assert name in loaded, name
        if name in skipped:
            assert loaded[name].shape[0] == 40
            continue
        assert torch.equal(loaded[name], value), name
    detector_keys = {k for k in loaded if k.startswith('detector.')}
    assert detector_keys == {'detector.' + k for k in coco}
    others = set(loaded) - detector_keys
    assert others == set(track_before)
    for key, value in track_before.items():
        assert torch.equal(loaded[key], value), key

    # exact key bookkeeping through torch's loader (same pre-hook)
    fresh = MODELS.build(cfg.model)
    result = fresh.load_state_dict(
        {
            k: v
            for k, v in coco.items() if 'conv_cls' not in k
        }, strict=False)
    assert set(result.missing_keys) == set(track_before) | skipped
    assert result.unexpected_keys == []


def test_stc_checkpoint_round_trip_is_not_renamed():
    cfg = Config.fromfile(CONFIG)
    cfg.model.detector.backbone.depth = 18
    cfg.model.detector.neck.in_channels = [64, 128, 256, 512]
    a = MODELS.build(cfg.model)
    b = MODELS.build(cfg.model)
    result = b.load_state_dict(a.state_dict(), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in a.state_dict().items():
        assert torch.equal(b.state_dict()[key], value), key
