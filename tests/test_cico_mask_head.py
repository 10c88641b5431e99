"""CiCo's clip-level mask head: prototype net options, the mask loss's
per-frame weighting and clip averaging, and rendering masks at test."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.utils import register_all_modules
from mmengine.structures import InstanceData

import mmvis_clip  # noqa: F401
from mmvis_clip.models.heads.cico_mask_head import CiCoMaskHead

register_all_modules()

YOLACT = dict(type='YolactClipMaskGenerator', num_protos=4)
CONDINST = dict(
    type='CondInstClipMaskGenerator', num_protos=4, channels=4, num_layers=3)


def randn(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen)


def build(generator=YOLACT, **kwargs):
    head = CiCoMaskHead(
        in_channels=8, feat_channels=8, mask_generator=generator, **kwargs)
    head.init_weights()
    return head


def fpn_cubes(batch=2, frames=3):
    # P3 6 x 10, P4 3 x 5, P5 2 x 3 (P5 upsampled x4 is cut to 6 x 10)
    return [
        torch.rand(batch, 8, frames, 6, 10),
        torch.rand(batch, 8, frames, 3, 5),
        torch.rand(batch, 8, frames, 2, 3)
    ]


@pytest.mark.parametrize('upsample', ['deconv', 'bilinear'])
@pytest.mark.parametrize('norm_cfg', [None, dict(type='BN')])
def test_prototype_net_options(upsample, norm_cfg):
    head = build(upsample=upsample, norm_cfg=norm_cfg)
    protos = head(fpn_cubes())
    assert protos.shape == (2, 4, 3, 12, 20)
    assert (protos >= 0).all()  # ReLU on the prototypes
    assert hasattr(head, 'deconv') == (upsample == 'deconv')
    # level convs 2D (public code), 3x3x3 convs 3D
    assert isinstance(head.level_convs[0].conv, nn.Conv2d)
    assert head.convs[0].conv.weight.dim() == 5
    if norm_cfg is not None:
        assert isinstance(head.convs[0].norm, nn.BatchNorm3d)
        assert isinstance(head.level_convs[0].norm, nn.BatchNorm2d)
        assert isinstance(head.conv_refine.norm, nn.BatchNorm2d)
    head3d = build(upsample=upsample, norm_cfg=norm_cfg, level_conv_3d=True)
    assert head3d.level_convs[0].conv.weight.dim() == 5
    assert head3d(fpn_cubes()).shape == (2, 4, 3, 12, 20)


def test_bilinear_upsample_is_align_corners_interpolation():
    head = build(upsample='bilinear')
    frames = torch.rand(2, 8, 3, 4)
    up = head._upsample(frames)
    assert up.shape == (2, 8, 6, 8)
    # corners kept exactly (align_corners=True), the midpoint of the
    # first two columns is at output column 1 * (3 / 7) of the way
    torch.testing.assert_close(up[..., 0, 0], frames[..., 0, 0])
    torch.testing.assert_close(up[..., -1, -1], frames[..., -1, -1])
    torch.testing.assert_close(
        up[..., 0, 1], frames[..., 0, 0] + (frames[..., 0, 1] -
                                            frames[..., 0, 0]) * 3 / 7)


def clip_gts():
    """Two objects on a 3-frame clip, input 24 x 32."""
    bboxes = torch.tensor([[[4., 4., 10., 12.], [6., 4., 12., 14.],
                            [0., 0., 0., 0.]],
                           [[20., 8., 21., 9.], [20., 8., 22., 10.],
                            [19., 8., 21., 9.]]])
    valid = torch.tensor([[True, True, False], [True, True, True]])
    masks = (randn(2, 3, 24, 32, seed=3) > 0).to(torch.uint8)
    return InstanceData(bboxes=bboxes, valid=valid, masks=masks)


# circumscribed boxes over the valid frames of the two objects
CIRCUMSCRIBED = torch.tensor([[4., 4., 12., 14.], [19., 8., 22., 10.]])


def expected_clip_loss(head, proto, params, gt_inds, row_frames, gts):
    """Mean over the positives of their frame-weighted losses, each from
    the generator's (separately tested) loss of that one object."""
    targets = F.interpolate(
        gts.masks.float(), size=(6, 8), mode='bilinear',
        align_corners=False).gt(0.5).float()
    terms = []
    for m, (g, f) in enumerate(zip(gt_inds, row_frames)):
        box = CIRCUMSCRIBED[g:g + 1]
        weights = torch.tensor(
            [[1. if f < 0 else 0.9**abs(t - f) for t in range(3)]])
        logits = head.mask_generator(proto, params[m:m + 1], box, 4)
        terms.append(
            head.mask_generator.loss(logits, targets[g:g + 1], box, 4,
                                     weights))
    return sum(terms) / len(terms)


def test_loss_weights_frames_and_averages_clips():
    head = build()
    protos = randn(3, 4, 3, 6, 8, seed=1).relu()
    params = randn(3, 4, seed=2)
    positives = [
        InstanceData(
            params=params,
            gt_inds=torch.tensor([0, 1, 0]),
            row_frames=torch.tensor([0, 2, 1])),
        # no row_frames: one prediction row per clip, equal frame weights
        InstanceData(params=params[:1], gt_inds=torch.tensor([1])),
        InstanceData(
            params=params[:0],
            gt_inds=torch.zeros(0, dtype=torch.long),
            row_frames=torch.zeros(0, dtype=torch.long)),
    ]
    gts = [clip_gts(), clip_gts(), clip_gts()]
    loss = head.loss(protos, positives, gts)['loss_mask']
    clip0 = expected_clip_loss(head, protos[0], params, [0, 1, 0], [0, 2, 1],
                               gts[0])
    clip1 = expected_clip_loss(head, protos[1], params[:1], [1], [-1],
                               gts[1])
    # the clip without positives counts in the average (public code)
    torch.testing.assert_close(loss, (clip0 + clip1) / 3)
    head.clip_average = False
    torch.testing.assert_close(
        head.loss(protos, positives, gts)['loss_mask'],
        (3 * clip0 + clip1) / 4)
    # the frame weights matter: all rows at frame 0 give another loss
    positives[0].row_frames = torch.zeros(3, dtype=torch.long)
    head.clip_average = True
    other = head.loss(protos, positives, gts)['loss_mask']
    assert abs(other.item() - loss.item()) > 1e-6


def test_missing_row_frames_means_equal_weights():
    head = build()
    protos = randn(1, 4, 3, 6, 8, seed=4)
    pos = InstanceData(params=randn(2, 4, seed=5), gt_inds=torch.tensor([0,
                                                                        1]))
    with_rows = pos.clone()
    with_rows.row_frames = torch.tensor([-1, -1])
    gts = [clip_gts()]
    torch.testing.assert_close(
        head.loss(protos, [pos], gts)['loss_mask'],
        head.loss(protos, [with_rows], gts)['loss_mask'])


def test_loss_without_positives_is_connected_zero():
    head = build()
    protos = randn(1, 4, 3, 6, 8).requires_grad_()
    params = torch.zeros(0, 4, requires_grad=True)
    pos = InstanceData(params=params, gt_inds=torch.zeros(0).long())
    loss = head.loss(protos, [pos], [clip_gts()])['loss_mask']
    assert loss.item() == 0 and loss.requires_grad


@pytest.mark.parametrize('generator', [YOLACT, CONDINST])
@pytest.mark.parametrize('rescale', [False, True])
def test_render_in_chunks_equals_one_shot(generator, rescale):
    head = build(generator).eval()
    protos = randn(4, 3, 6, 8, seed=6)
    num = 10
    params = randn(num, head.mask_generator.num_params, seed=7)
    xy = torch.rand(num, 2, generator=torch.Generator().manual_seed(8))
    wh = torch.rand(num, 2, generator=torch.Generator().manual_seed(9))
    boxes = torch.cat([xy * 20, xy * 20 + 2 + wh * 10], dim=1)
    meta = dict(img_shape=(22, 30), ori_shape=(45, 61))
    head.render_chunk = 1000
    one_shot = head.render(protos, params, boxes, meta, rescale)
    head.render_chunk = 3
    chunked = head.render(protos, params, boxes, meta, rescale)
    assert one_shot.dtype == torch.bool
    assert one_shot.shape == ((num, 3, 45, 61) if rescale else
                              (num, 3, 22, 30))
    assert one_shot.any() and not one_shot.all()
    assert torch.equal(chunked, one_shot)
    # predict is render on the detections' parameters and boxes
    dets = InstanceData(params=params, clip_bboxes=boxes)
    assert torch.equal(head.predict(protos, dets, meta, rescale), one_shot)
    empty = head.render(protos, params[:0], boxes[:0], meta, rescale)
    assert empty.shape == (0, ) + one_shot.shape[1:]


def all_on_params(head):
    """Parameters whose logits are high everywhere on all-one prototypes."""
    if head.mask_generator.num_params == 4:  # Yolact: tanh(10) * 4
        return torch.full((1, 4), 10.)
    params = torch.zeros(1, head.mask_generator.num_params)
    params[0, -1] = 10.  # last layer's bias; every weight 0
    return params


@pytest.mark.parametrize('generator,crop_px,corners', [
    # box (16, 16, 48, 40), mask stride 4, crop padded by one mask pixel:
    # Yolact x1.1 -> (14.4, 14.8, 49.6, 41.2): mask columns 2..12, rows
    # 2..10; CondInst x1.5 -> (8, 10, 56, 46): columns 1..14, rows 1..11
    # (the last row of the map)
    (YOLACT, (8, 8, 52, 44), [(8, 8), (8, 51), (43, 8), (43, 51)]),
    # raw kernels: probabilities ~1 (tanh would bound the logit to 1)
    (dict(CONDINST, params_tanh=False), (4, 4, 60, 48), [(4, 4), (4, 59)]),
    (dict(CONDINST, params_tanh=False, crop=False), (0, 0, 64, 48), []),
])
def test_render_crops_at_test(generator, crop_px, corners):
    """Probabilities ~1 in the crop and 0 outside, upsampled x4 bilinearly
    and thresholded at 0.5: the crop in input pixels (the first and last
    input pixel of a crop edge get 0.625 of the inside value), less the
    crop's corners away from the map border (0.625^2 < 0.5)."""
    head = build(generator).eval()
    protos = torch.ones(4, 3, 12, 16)
    boxes = torch.tensor([[16., 16., 48., 40.]])
    meta = dict(img_shape=(48, 64), ori_shape=(48, 64))
    masks = head.render(protos, all_on_params(head), boxes, meta, False)
    x1, y1, x2, y2 = crop_px
    expected = torch.zeros(1, 3, 48, 64, dtype=torch.bool)
    expected[..., y1:y2, x1:x2] = True
    for y, x in corners:
        expected[..., y, x] = False
    assert torch.equal(masks, expected)


def test_proto_masks_are_render_before_upsampling():
    """The prototype-resolution masks NMS uses: the same cropped
    probabilities as render, thresholded without the upsampling (by a
    direct computation)."""
    head = build()
    protos = randn(head.mask_generator.num_protos, 2, 6, 8, seed=3)
    params = randn(5, head.mask_generator.num_params, seed=4)
    boxes = torch.tensor([[0., 0., 16., 16.], [4., 4., 30., 20.],
                          [8., 0., 32., 24.], [0., 8., 12., 24.],
                          [2., 2., 6., 6.]])
    head.render_chunk = 2
    got = head.proto_masks(protos, params, boxes)
    logits = head.mask_generator(protos, params, boxes, 4)
    probs = head.mask_generator.crop_masks(logits.sigmoid(), boxes, 4)
    assert got.shape == (5, 2, 6, 8) and got.dtype == torch.bool
    assert torch.equal(got, probs > 0.5)
