"""CiCo R50 initialised from mmdet's COCO YOLACT / CondInst R50 checkpoints.

The checkpoints are the mmdet models built from their configs, every
floating tensor replaced by distinct random values and saved in mmengine's
checkpoint format; they are loaded the way ``load_from`` loads them. Every
model tensor is checked: equal to its source, equal to its source after a
transform written out tap by tap / channel by channel here, or unchanged.
No forward pass (R50 on CPU).
"""
import functools
import logging
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner.checkpoint import load_checkpoint

import mmvis_clip  # noqa: F401
from mmvis_clip.models.inflation.cico_checkpoint import (convert_2d_state_dict,
                                                         load_2d_checkpoint)

register_all_modules()

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', 'configs', 'cico')
YOLACT = 'mmdet::yolact/yolact_r50_1xb8-55e_coco.py'
CONDINST = 'mmdet::condinst/condinst_r50_fpn_ms-poly-90k_coco_instance.py'
CICO = {
    'yolact': 'cico-yolact_r50_fpn_4xb6-12e_youtubevis2019.py',
    'condinst': 'cico-condinst_r50_fpn_4xb6-12e_youtubevis2019.py',
}
A, T = 3, 3  # anchors per location, clip length
CENTRE = (0.125, 0.75, 0.125)  # prototype-net time taps
LOGGER = 'test_cico_coco_init'


def _checkpoint(config, tmp_path_factory, name):
    """(state dict, path) of an mmdet model with distinct random values."""
    cfg = get_config(config).model
    cfg.backbone.init_cfg = None
    gen = torch.Generator().manual_seed(0)
    state = {
        k: torch.randn(v.shape, generator=gen) if v.is_floating_point() else v
        for k, v in MODELS.build(cfg).state_dict().items()
    }
    path = str(tmp_path_factory.mktemp(name) / f'{name}.pth')
    torch.save({'state_dict': state, 'meta': {}}, path)
    return state, path


@pytest.fixture(scope='module')
def yolact(tmp_path_factory):
    return _checkpoint(YOLACT, tmp_path_factory, 'yolact')


@pytest.fixture(scope='module')
def condinst(tmp_path_factory):
    return _checkpoint(CONDINST, tmp_path_factory, 'condinst')


def _cico(kind, **mask_head):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, CICO[kind]))
    cfg.model.backbone.init_cfg = None
    # the prototype net this test was written for (other tests pin the
    # heads' defaults)
    cfg.model.mask_head.update(
        dict(norm_cfg=None, upsample='deconv', level_conv_3d=False),
        **mask_head)
    model = MODELS.build(cfg.model)
    assert model.bbox_head.num_base_priors == A
    assert model.bbox_head.num_frames == T
    # the hook as CiCo registers it, logging to a logger caplog sees
    model._load_state_dict_pre_hooks.clear()
    model.register_load_state_dict_pre_hook(
        functools.partial(
            load_2d_checkpoint, logger=logging.getLogger(LOGGER)))
    return model


def _load(model, path, caplog):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with caplog.at_level(logging.INFO, logger=LOGGER):
        load_checkpoint(model, path, map_location='cpu')  # `load_from`'s way
    return before, model.state_dict()


def _params(layers):
    """Weight and bias keys of conv layers."""
    return {f'{layer}.{part}' for layer in layers
            for part in ('weight', 'bias')}


def _inflated(weight, taps):
    return torch.stack([weight * a for a in taps], dim=2)


def _row(log, group):
    """The counts of a group's row in the logged table."""
    for line in log.splitlines():
        if line.split()[:1] == [group]:
            return [int(n) for n in line.split()[1:]]
    raise AssertionError(f'no row {group!r} in\n{log}')


def test_mmdet_yolact_checkpoint_into_cico_yolact(yolact, caplog):
    src, path = yolact
    model = _cico('yolact')
    before, loaded = _load(model, path, caplog)

    # YOLACT's FPN (extra levels from C5) in CiCo-Yolact's config: all of it
    assert loaded['neck.fpn_convs.3.conv.weight'].shape == (256, 2048, 3, 3)
    same = [k for k in src if k.startswith(('backbone.', 'neck.'))]
    assert len(same) == 318 + 16
    expected = {k: src[k] for k in same}
    head = 'bbox_head.head_convs.0.conv.'
    expected['bbox_head.cls_convs.0.conv.weight'] = src[head + 'weight']
    expected['bbox_head.cls_convs.0.conv.bias'] = src[head + 'bias']
    expected['bbox_head.reg_convs.0.conv.weight'] = _inflated(
        src[head + 'weight'], [1 / 3] * 3)
    expected['bbox_head.reg_convs.0.conv.bias'] = src[head + 'bias']
    for part in ('weight', 'bias'):
        expected[f'bbox_head.conv_params.{part}'] = \
            src[f'bbox_head.conv_coeff.{part}']
        reg = src[f'bbox_head.conv_reg.{part}']
        expected[f'bbox_head.conv_reg.{part}'] = torch.stack([
            reg[a * 4 + c] for a in range(A) for t in range(T)
            for c in range(4)
        ])
        for i, j in enumerate((0, 2, 4)):
            value = src[f'mask_head.protonet.{j}.{part}']
            expected[f'mask_head.convs.{i}.conv.{part}'] = (
                _inflated(value, CENTRE) if part == 'weight' else value)
        expected[f'mask_head.conv_refine.conv.{part}'] = \
            src[f'mask_head.protonet.8.{part}']
        expected[f'mask_head.conv_proto.{part}'] = \
            src[f'mask_head.protonet.10.{part}']
    for key, value in expected.items():
        assert torch.allclose(loaded[key], value, rtol=0, atol=1e-6), key
    # everything else keeps its own initialisation
    kept = set(loaded) - set(expected)
    assert kept == _params(
        ['bbox_head.conv_cls', 'bbox_head.conv_embed',
         'bbox_head.conv_centerness', 'mask_head.deconv'] +
        [f'bbox_head.{tower}.{i}.conv' for tower in ('cls_convs', 'reg_convs')
         for i in (1, 2, 3)] +
        [f'bbox_head.track_convs.{i}.conv' for i in range(4)] +
        [f'mask_head.level_convs.{i}.conv' for i in range(3)])
    for key in kept:
        assert torch.equal(loaded[key], before[key]), key

    log = caplog.text
    for name, reason in [
        ('bbox_head.conv_cls.weight', 'role differs: softmax'),
        ('bbox_head.conv_cls.bias', 'role differs: softmax'),
        ('mask_head.segm_branch.segm_conv.weight', 'no counterpart: YOLACT'),
        ('mask_head.segm_branch.segm_conv.bias', 'no counterpart: YOLACT'),
    ]:
        assert f'skipped: {name}: {reason}' in log
    assert log.count('skipped: ') == 4
    assert 'CiCo: 4 2D conv weights inflated to 3D, 2 expanded' in log
    # loaded, inflated, expanded, skipped, not in ckpt
    assert _row(log, 'backbone') == [318, 0, 0, 0, 0]
    assert _row(log, 'neck.fpn_convs') == [10, 0, 0, 0, 0]
    assert _row(log, 'bbox_head.cls_convs') == [2, 0, 0, 0, 6]
    assert _row(log, 'bbox_head.reg_convs') == [1, 1, 0, 0, 6]
    assert _row(log, 'bbox_head.track_convs') == [0, 0, 0, 0, 8]
    assert _row(log, 'bbox_head.conv_reg') == [0, 0, 2, 0, 0]
    assert _row(log, 'bbox_head.conv_cls') == [0, 0, 0, 2, 2]
    assert _row(log, 'mask_head.convs') == [3, 3, 0, 0, 0]
    assert _row(log, 'mask_head.segm_branch') == [0, 0, 0, 2, 0]
    assert _row(log, 'total') == [346, 4, 2, 4, 34]
    assert 'role: mask_head.protonet.8.* -> mask_head.conv_refine.conv.*' \
        in log


def test_mmdet_condinst_checkpoint_into_cico_condinst(condinst, caplog):
    src, path = condinst
    model = _cico('condinst')
    before, loaded = _load(model, path, caplog)

    same = [k for k in src if k.startswith(('backbone.', 'neck.'))]
    assert len(same) == 318 + 16
    expected = {k: src[k] for k in same}
    for i in range(4):
        for part in ('weight', 'bias'):
            cls = f'bbox_head.cls_convs.{i}.conv.{part}'
            reg = f'bbox_head.reg_convs.{i}.conv.{part}'
            expected[cls] = src[cls]
            expected[reg] = (
                _inflated(src[reg], [1 / 3] * 3)
                if part == 'weight' else src[reg])
    for part in ('weight', 'bias'):
        # anchor-free layers: every anchor of a location gets them
        centerness = src[f'bbox_head.conv_centerness.{part}']
        expected[f'bbox_head.conv_centerness.{part}'] = torch.stack(
            [centerness[0] for a in range(A)])
        controller = src[f'bbox_head.controller.{part}']
        expected[f'bbox_head.conv_params.{part}'] = torch.stack(
            [controller[p] for a in range(A) for p in range(169)])
    for key, value in expected.items():
        assert torch.allclose(loaded[key], value, rtol=0, atol=1e-6), key
    kept = set(loaded) - set(expected)
    assert kept == _params(
        ['bbox_head.conv_cls', 'bbox_head.conv_reg', 'bbox_head.conv_embed',
         'mask_head.deconv', 'mask_head.conv_refine.conv',
         'mask_head.conv_proto'] +
        [f'bbox_head.track_convs.{i}.conv' for i in range(4)] +
        [f'mask_head.level_convs.{i}.conv' for i in range(3)] +
        [f'mask_head.convs.{i}.conv' for i in range(3)])
    for key in kept:
        assert torch.equal(loaded[key], before[key]), key

    log = caplog.text
    skipped = {
        line.split(': ')[1]: line.split(': ', 2)[2]
        for line in log.splitlines() if line.startswith('skipped: ')
    }
    reasons = {
        'bbox_head.conv_reg.weight': 'role differs: FCOS regresses',
        'bbox_head.conv_reg.bias': 'role differs: FCOS regresses',
        'bbox_head.conv_cls.weight': 'shape differs: (80, 256, 3, 3)',
        'bbox_head.conv_cls.bias': 'shape differs: (80,)',
        'mask_head.mask_feature_head.conv_pred.weight':
        'shape differs: (8, 128, 1, 1) (as mask_head.conv_proto.weight) -> '
        '(8, 256, 1, 1)',
        # its weight does not fit: the bias alone is not taken
        'mask_head.mask_feature_head.conv_pred.bias':
        'its layer mask_head.conv_proto is not loaded whole',
        'mask_head.mask_feature_head.conv_branch.3.conv.weight':
        'shape differs: (128, 128, 3, 3) (as mask_head.conv_refine.conv.'
        'weight)',
        'mask_head.mask_feature_head.conv_branch.0.bn.weight':
        'no counterpart in this model (as mask_head.convs.0.bn.weight)',
    }
    for i in range(5):
        reasons[f'bbox_head.scales.{i}.scale'] = 'no counterpart: FCOS'
    for tower in ('cls_convs', 'reg_convs'):
        for i in range(4):
            for part in ('weight', 'bias'):
                reasons[f'bbox_head.{tower}.{i}.gn.{part}'] = \
                    'no counterpart in this model'
    for name, reason in reasons.items():
        assert skipped[name].startswith(reason), (name, skipped[name])
    feature_head = {
        k
        for k in src if k.startswith('mask_head.mask_feature_head.')
    }
    assert len(feature_head) == 44
    assert set(skipped) == set(reasons) | feature_head
    assert _row(log, 'bbox_head.conv_centerness') == [0, 0, 2, 0, 0]
    assert _row(log, 'bbox_head.conv_params') == [0, 0, 2, 0, 0]
    assert _row(log, 'bbox_head.reg_convs') == [4, 4, 0, 8, 0]
    assert _row(log, 'mask_head.mask_feature_head') == [0, 0, 0, 44, 0]


def test_condinst_mask_branch_fits_a_128_channel_bn_prototype_net(condinst):
    """With mmdet CondInst's mask-branch width and BN, the branch's tensors
    all load by role; ``track_from_box`` copies the box tower."""
    src, _ = condinst
    model = _cico(
        'condinst', feat_channels=128, norm_cfg=dict(type='BN'))
    target = model.state_dict()
    out, report = convert_2d_state_dict(
        src, target, num_anchors=A, num_frames=T, track_from_box=True)
    assert not any('mask_feature_head' in k for k in report.skipped)
    branch = 'mask_head.mask_feature_head.'
    pairs = {}
    for i in range(3):
        pairs[f'mask_head.level_convs.{i}.'] = \
            f'{branch}convs_all_levels.{i}.conv{i}.'
        pairs[f'mask_head.convs.{i}.'] = f'{branch}conv_branch.{i}.'
    pairs['mask_head.conv_refine.'] = f'{branch}conv_branch.3.'
    pairs['mask_head.conv_proto.'] = f'{branch}conv_pred.'
    for new, old in pairs.items():
        names = [k for k in src if k.startswith(old)]
        assert len(names) in (2, 6)  # conv_pred; conv + BN (5)
        for name in names:
            key = new + name[len(old):]
            value = src[name]
            if new.startswith('mask_head.convs.') and name.endswith(
                    'conv.weight'):
                value = _inflated(value, CENTRE)
            assert torch.allclose(out[key], value, rtol=0, atol=1e-6), key
            assert out[key].shape == target[key].shape
    for i in range(4):
        key = f'bbox_head.track_convs.{i}.conv.weight'
        assert torch.allclose(
            out[key],
            _inflated(src[f'bbox_head.reg_convs.{i}.conv.weight'],
                      [1 / 3] * 3),
            rtol=0,
            atol=1e-6)
        assert report.loaded[key] == (
            'inflated', f'bbox_head.reg_convs.{i}.conv.weight')
        assert torch.equal(out[f'bbox_head.track_convs.{i}.conv.bias'],
                           src[f'bbox_head.reg_convs.{i}.conv.bias'])
    assert ('bbox_head.reg_convs.', 'bbox_head.track_convs.') in report.roles
    # nothing left that the model cannot take but the GN and FCOS tensors
    result = model.load_state_dict(out, strict=False)
    assert all('.gn.' in k for k in result.unexpected_keys)
    assert set(result.missing_keys) == set(report.missing)


def test_yolact_track_tower_from_box_tower_only_when_asked(yolact):
    src, _ = yolact
    target = _cico('yolact').state_dict()
    weight = src['bbox_head.head_convs.0.conv.weight']
    _, default = convert_2d_state_dict(src, target, A, T)
    assert not any(k.startswith('bbox_head.track_convs.') for k in
                   default.loaded)  # the authors' code: Xavier init
    out, report = convert_2d_state_dict(src, target, A, T,
                                        track_from_box=True)
    tracked = [k for k in report.loaded if 'track_convs' in k]
    assert sorted(tracked) == [
        'bbox_head.track_convs.0.conv.bias',
        'bbox_head.track_convs.0.conv.weight'
    ]
    torch.testing.assert_close(out['bbox_head.track_convs.0.conv.weight'],
                               _inflated(weight, [1 / 3] * 3))
    # and without the expansions the box / anchor-free layers are skipped
    _, plain = convert_2d_state_dict(src, target, A, T, expand_box=False)
    assert plain.skipped['bbox_head.conv_reg.weight'].startswith(
        'shape differs: (12, 256, 3, 3)')


def test_own_checkpoint_passes_unchanged_and_conversion_is_idempotent(
        yolact, caplog):
    src, _ = yolact
    model = _cico('yolact')
    target = model.state_dict()
    out, _ = convert_2d_state_dict(src, target, A, T)
    again, report = convert_2d_state_dict(out, target, A, T)
    assert report.layout == 'cico' and not report.skipped
    assert list(again) == list(out)
    assert all(again[k] is out[k] for k in out)
    assert {h for h, _ in report.loaded.values()} == {'loaded'}
    # a CiCo checkpoint of the same model: loaded strictly, nothing logged
    with caplog.at_level(logging.INFO, logger=LOGGER):
        result = model.load_state_dict(
            {k: v.clone()
             for k, v in target.items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert 'CiCo:' not in caplog.text


def _tiny(config):
    """A synthetic config shrunk: ResNet-18 of width 16, 32-channel heads,
    with the hook as CiCo registers it."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config)).model
    cfg.backbone.base_channels = 16
    cfg.neck.update(in_channels=[16, 32, 64, 128], out_channels=32)
    cfg.bbox_head.update(in_channels=32, feat_channels=32, embed_dim=16)
    cfg.mask_head.update(in_channels=32, feat_channels=32)
    model = MODELS.build(cfg).eval()
    model._load_state_dict_pre_hooks.clear()
    model.register_load_state_dict_pre_hook(
        functools.partial(
            load_2d_checkpoint, logger=logging.getLogger(LOGGER)))
    return model


@pytest.mark.parametrize(
    'config,rows',
    [('cico-yolact_r18_fpn_paper-recipe_1xb4-4e_synthetic.py', T),
     ('cico-yolact_r18_fpn_1xb4-4e_synthetic.py', 1)])
def test_frame_model_init_gives_its_predictions_in_every_row(
        caplog, config, rows):
    """The image-level model (T = 1, 2D) into the clip model (T = 3, 3D box
    and tracking towers, 4T box layer): on a clip of identical frames every
    row (one per frame, or the one time-mean row) predicts what the 2D model
    predicts, box of every frame included."""
    fifo = _tiny('cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py')
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in fifo.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    cico = _tiny(config)
    assert cico.bbox_head.per_frame_rows == (rows == T)
    assert cico.bbox_head.num_frames == T
    with caplog.at_level(logging.INFO, logger=LOGGER):
        result = cico.load_state_dict(fifo.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert 'CiCo: 4 2D conv weights inflated to 3D, 2 expanded' in \
        caplog.text
    assert _row(caplog.text, 'bbox_head.conv_reg') == [0, 0, 2, 0, 0]

    frame = torch.rand(1, 1, 3, 64, 96)
    with torch.no_grad():
        heads2d, protos2d = fifo._forward(frame)
        heads, protos = cico._forward(frame.expand(1, T, 3, 64, 96))
    names = ('cls', 'box', 'params', 'embed', 'centerness')
    for name, levels2d, levels in zip(names, heads2d, heads):
        for pred2d, pred in zip(levels2d, levels):
            assert pred2d.size(2) == 1 and pred.size(2) == rows
            h, w = pred.shape[-2:]
            for row in range(rows):
                if name == 'box':  # (anchor, frame, coordinate) channels
                    boxes = pred[:, :, row].view(1, A, T, 4, h, w)
                    for t in range(T):
                        torch.testing.assert_close(
                            boxes[:, :, t],
                            pred2d[:, :, 0].view(1, A, 4, h, w),
                            rtol=0,
                            atol=1e-5)
                else:
                    torch.testing.assert_close(
                        pred[:, :, row], pred2d[:, :, 0], rtol=0, atol=1e-5)
    for t in range(T):
        torch.testing.assert_close(
            protos[:, :, t], protos2d[:, :, 0], rtol=0, atol=1e-5)


def test_another_cico_variant_is_refused_without_partial_load(tmp_path):
    """A CiCo-CondInst checkpoint (no meta.cfg) into CiCo-Yolact: the
    conversion skips what differs, which leaves the Yolact modules
    unloaded: refused, unless a partial load is asked for."""
    from mmvis_clip.utils.checkpoint_loading import (CheckpointError,
                                                     load_checkpoint_checked)
    condinst = _cico('condinst')
    path = str(tmp_path / 'condinst.pth')
    torch.save(dict(state_dict=condinst.state_dict()), path)
    yolact = _cico('yolact')
    with pytest.raises(CheckpointError, match='give --partial-load'):
        load_checkpoint_checked(yolact, path, allow_converted=True)
    load_checkpoint_checked(yolact, path, allow_converted=True,
                            allow_partial=True)
