"""ReplicateTimeConv3d and the 2D -> 3D conv weight inflation.

The reference outputs come from torch's own 2D convs applied frame by frame
and from ``nn.Conv3d`` on clips padded by hand; the reference weights are
built tap by tap.
"""
import logging
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer
from mmdet.registry import MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope

import mmvis_clip  # noqa: F401
from mmvis_clip.models.inflation.conv_inflation import (expand_box_frames,
                                                        inflate_conv_weight,
                                                        inflate_state_dict,
                                                        repeat_over_anchors,
                                                        time_tap_weights)
from mmvis_clip.models.layers.replicate_time_conv3d import ReplicateTimeConv3d


def _pad_time_by_hand(x, pt):
    """Repeat the first and the last frame ``pt`` times along T (dim 2)."""
    first, last = x[:, :, :1], x[:, :, -1:]
    return torch.cat([first] * pt + [x] + [last] * pt, dim=2)


def _per_frame(conv2d, clip):
    """Apply a 2D module to every frame of a (N, C, T, H, W) clip."""
    return torch.stack([conv2d(clip[:, :, t]) for t in range(clip.shape[2])],
                       dim=2)


# --------------------------------------------------------------------------
# ReplicateTimeConv3d
# --------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs', [
    dict(kernel_size=3, padding=1),
    dict(kernel_size=3, padding=1, stride=(1, 2, 2)),
    dict(kernel_size=(3, 1, 1), padding=(1, 0, 0), bias=False),
    dict(kernel_size=(1, 3, 3), padding=(0, 1, 1)),
    dict(kernel_size=3, padding=(2, 1, 1), dilation=(2, 1, 1)),
    dict(kernel_size=(5, 3, 3), padding=(2, 1, 1), groups=2),
])
@pytest.mark.parametrize('num_frames', [1, 3, 4])
def test_equals_conv3d_on_time_padded_clip(kwargs, num_frames):
    torch.manual_seed(0)
    conv = ReplicateTimeConv3d(4, 6, **kwargs)
    padding = conv.padding
    reference = nn.Conv3d(4, 6, **dict(kwargs, padding=(0, ) + padding[1:]))
    reference.load_state_dict(conv.state_dict())  # same parameters
    clip = torch.randn(2, 4, num_frames, 9, 10)

    out = conv(clip)
    expected = reference(_pad_time_by_hand(clip, padding[0]))
    # output shape: that of nn.Conv3d with the same arguments
    assert out.shape == nn.Conv3d(4, 6, **kwargs)(clip).shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    # an unbatched (C, T, H, W) clip gives the same result
    torch.testing.assert_close(conv(clip[1]), out[1], rtol=1e-5, atol=1e-5)


def test_edge_frames_differ_from_zero_time_padding():
    torch.manual_seed(0)
    conv = ReplicateTimeConv3d(2, 3, 3, padding=1)
    zero_padded = nn.Conv3d(2, 3, 3, padding=1)
    zero_padded.load_state_dict(conv.state_dict())
    clip = torch.randn(1, 2, 4, 6, 6)
    out, zero_out = conv(clip), zero_padded(clip)
    # inner frames see no padding; edge frames do
    torch.testing.assert_close(out[:, :, 1:3], zero_out[:, :, 1:3])
    assert not torch.allclose(out[:, :, 0], zero_out[:, :, 0])
    assert not torch.allclose(out[:, :, 3], zero_out[:, :, 3])


@pytest.mark.parametrize('kwargs,message', [
    (dict(padding='same'), 'int or a'),
    (dict(padding=1, padding_mode='replicate'), 'padding_mode'),
])
def test_rejects_ambiguous_padding(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReplicateTimeConv3d(2, 2, 3, **kwargs)


def test_registered_in_mmdet_and_root_registries():
    assert MODELS.get('ReplicateTimeConv3d') is ReplicateTimeConv3d
    assert MMENGINE_MODELS.get('ReplicateTimeConv3d') is ReplicateTimeConv3d


def _check_built(conv):
    assert type(conv) is ReplicateTimeConv3d
    assert conv.padding == (1, 1, 1)
    assert conv.weight.shape == (8, 4, 3, 3, 3)


def test_conv_module_finds_it_in_mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert DefaultScope.get_current_instance().scope_name == 'mmdet'
        _check_built(
            build_conv_layer(
                dict(type='ReplicateTimeConv3d'), 4, 8, 3, padding=1))
        module = ConvModule(
            4,
            8,
            3,
            padding=1,
            conv_cfg=dict(type='ReplicateTimeConv3d'),
            norm_cfg=dict(type='GN', num_groups=2))
    _check_built(module.conv)
    assert module(torch.randn(1, 4, 3, 5, 5)).shape == (1, 8, 3, 5, 5)


def test_conv_module_finds_it_without_default_scope(monkeypatch):
    # other tests of the session may have created default scopes: hide them
    monkeypatch.setattr(DefaultScope, 'get_current_instance',
                        classmethod(lambda cls: None))
    assert DefaultScope.get_current_instance() is None
    _check_built(
        build_conv_layer(dict(type='ReplicateTimeConv3d'), 4, 8, 3, padding=1))
    _check_built(
        ConvModule(
            4,
            8,
            3,
            padding=1,
            conv_cfg=dict(type='ReplicateTimeConv3d'),
            norm_cfg=None).conv)


# --------------------------------------------------------------------------
# inflate_conv_weight
# --------------------------------------------------------------------------
def test_inflated_weights_built_tap_by_tap():
    torch.manual_seed(0)
    w = torch.randn(5, 3, 3, 3)
    mean = inflate_conv_weight(w, 3)
    assert mean.shape == (5, 3, 3, 3, 3)
    for t in range(3):
        torch.testing.assert_close(mean[:, :, t], w / 3)
    centre = inflate_conv_weight(w, 3, mode='centre')
    for t, a in enumerate([0.125, 0.75, 0.125]):
        torch.testing.assert_close(centre[:, :, t], w * a)
    # another odd kernel: all the mass on the centre tap
    centre5 = inflate_conv_weight(w, 5, mode='centre')
    for t in range(5):
        torch.testing.assert_close(centre5[:, :, t],
                                   w if t == 2 else torch.zeros_like(w))
    custom = inflate_conv_weight(w, 2, mode='centre', centre_weights=[.3, .7])
    torch.testing.assert_close(custom[:, :, 0], 0.3 * w)
    torch.testing.assert_close(custom[:, :, 1], 0.7 * w)
    # one tap: the 2D kernel with a time axis, in either mode
    for mode in ('mean', 'centre'):
        torch.testing.assert_close(
            inflate_conv_weight(w, 1, mode=mode), w[:, :, None])
    assert inflate_conv_weight(w.double(), 3).dtype == torch.float64


@pytest.mark.parametrize('args,kwargs,message', [
    ((4, ), dict(mode='centre'), 'no centre tap'),
    ((3, ), dict(mode='centre', centre_weights=[0.2, 0.2, 0.2]), 'sum to 1'),
    ((3, ), dict(mode='centre', centre_weights=[0.5, 0.5]), '2 values'),
    ((3, ), dict(mode='mean', centre_weights=[0.25, 0.5, 0.25]), 'only used'),
    ((3, ), dict(mode='middle'), 'Unknown inflation mode'),
    ((0, ), dict(), 'time_kernel'),
])
def test_bad_inflation_arguments(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        inflate_conv_weight(torch.zeros(2, 2, 3, 3), *args, **kwargs)


def test_inflate_needs_a_2d_kernel():
    with pytest.raises(ValueError, match='2D kernel'):
        inflate_conv_weight(torch.zeros(2, 2, 3, 3, 3), 3)


def test_time_tap_weights_sum_to_one():
    for kt in (1, 3, 5, 7):
        for mode in ('mean', 'centre'):
            assert time_tap_weights(kt,
                                    mode).sum().item() == pytest.approx(1.0)


# --------------------------------------------------------------------------
# The point of it: a static clip gives the 2D output at every frame
# --------------------------------------------------------------------------
@pytest.mark.parametrize('mode', ['mean', 'centre'])
@pytest.mark.parametrize('num_frames', [1, 3, 5])
def test_inflated_conv_on_static_clip_equals_2d(mode, num_frames):
    torch.manual_seed(1)
    conv2d = nn.Conv2d(4, 6, 3, padding=1, bias=True)
    conv3d = ReplicateTimeConv3d(4, 6, 3, padding=1, bias=True)
    with torch.no_grad():
        conv3d.weight.copy_(inflate_conv_weight(conv2d.weight, 3, mode))
        conv3d.bias.copy_(conv2d.bias)
    frame = torch.randn(2, 4, 7, 8)
    clip = frame[:, :, None].expand(-1, -1, num_frames, -1, -1)
    expected = conv2d(frame)
    out = conv3d(clip)
    assert out.shape == (2, 6, num_frames, 7, 8)
    for t in range(num_frames):
        torch.testing.assert_close(out[:, :, t], expected, rtol=0, atol=1e-5)


def test_zero_time_padding_would_scale_edge_frames():
    # the reason for the edge repeat: with zero time padding the mean
    # inflated kernel loses one of its three taps at the clip's edges
    torch.manual_seed(2)
    conv2d = nn.Conv2d(3, 4, 3, padding=1)
    conv3d = nn.Conv3d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv3d.weight.copy_(inflate_conv_weight(conv2d.weight, 3))
        conv3d.bias.copy_(conv2d.bias)
    frame = torch.randn(1, 3, 6, 6)
    out = conv3d(frame[:, :, None].expand(-1, -1, 3, -1, -1))
    bias = conv2d.bias.view(1, -1, 1, 1)
    response = conv2d(frame) - bias
    torch.testing.assert_close(
        out[:, :, 1], response + bias, atol=1e-5, rtol=0)
    for t in (0, 2):
        torch.testing.assert_close(
            out[:, :, t], 2 / 3 * response + bias, atol=1e-5, rtol=0)


def test_pointwise_conv_inflated_to_1x1x1_on_any_clip():
    torch.manual_seed(3)
    conv2d = nn.Conv2d(4, 5, 1)
    conv3d = ReplicateTimeConv3d(4, 5, 1)
    with torch.no_grad():
        conv3d.weight.copy_(inflate_conv_weight(conv2d.weight, 1))
        conv3d.bias.copy_(conv2d.bias)
    clip = torch.randn(2, 4, 3, 5, 6)  # frames differ
    torch.testing.assert_close(
        conv3d(clip), _per_frame(conv2d, clip), rtol=0, atol=1e-5)


def test_transposed_conv_inflated_per_frame():
    torch.manual_seed(4)
    deconv2d = nn.ConvTranspose2d(4, 6, 2, stride=2)
    deconv3d = nn.ConvTranspose3d(4, 6, (1, 2, 2), stride=(1, 2, 2))
    assert deconv2d.weight.shape == (4, 6, 2, 2)  # (I, O, kh, kw)
    with torch.no_grad():
        deconv3d.weight.copy_(inflate_conv_weight(deconv2d.weight, 1))
        deconv3d.bias.copy_(deconv2d.bias)
    clip = torch.randn(2, 4, 3, 5, 6)
    out = deconv3d(clip)
    assert out.shape == (2, 6, 3, 10, 12)
    torch.testing.assert_close(
        out, _per_frame(deconv2d, clip), rtol=0, atol=1e-5)


# --------------------------------------------------------------------------
# inflate_state_dict
# --------------------------------------------------------------------------
def test_inflate_state_dict_only_matching_kernels():
    torch.manual_seed(5)
    source = OrderedDict((key, torch.randn(*shape)) for key, shape in [
        ('tower.0.weight', (8, 4, 3, 3)),  # -> (8, 4, 3, 3, 3), mean
        ('tower.0.bias', (8, )),  # 1D: unchanged
        ('proto.0.weight', (8, 4, 3, 3)),  # -> centre
        ('proto.1.weight', (8, 8, 1, 1)),  # -> (8, 8, 1, 1, 1)
        ('cls.weight', (8, 4, 3, 3)),  # target 2D: unchanged
        ('bad.weight', (8, 4, 3, 3)),  # target (8, 5, ...): unchanged
        ('src_only.weight', (2, 2, 3, 3)),  # not in target: unchanged
    ])
    source._metadata = OrderedDict(tower=dict(version=1))
    target = {
        'tower.0.weight': torch.zeros(8, 4, 3, 3, 3),
        'tower.0.bias': torch.zeros(8),
        'proto.0.weight': torch.zeros(8, 4, 3, 3, 3),
        'proto.1.weight': torch.zeros(8, 8, 1, 1, 1),
        'cls.weight': torch.zeros(8, 4, 3, 3),
        'bad.weight': torch.zeros(8, 5, 3, 3, 3),
        'target_only.weight': torch.zeros(8, 4, 3, 3, 3),
    }
    out, inflated = inflate_state_dict(
        source, target, centre_weighted_prefixes=('proto.', ))

    assert inflated == ['tower.0.weight', 'proto.0.weight', 'proto.1.weight']
    assert list(out) == list(source)  # same keys, same order, none added
    assert out._metadata is source._metadata
    w = source['tower.0.weight']
    torch.testing.assert_close(out['tower.0.weight'],
                               torch.stack([w / 3, w / 3, w / 3], dim=2))
    w = source['proto.0.weight']
    torch.testing.assert_close(
        out['proto.0.weight'],
        torch.stack([0.125 * w, 0.75 * w, 0.125 * w], dim=2))
    torch.testing.assert_close(out['proto.1.weight'],
                               source['proto.1.weight'][:, :, None])
    for key in ('tower.0.bias', 'cls.weight', 'bad.weight', 'src_only.weight'):
        assert out[key] is source[key]
    # the source is not modified
    assert source['tower.0.weight'].shape == (8, 4, 3, 3)


def test_inflate_state_dict_logs_and_names_bad_key(caplog):
    logger = logging.getLogger('test_conv_inflation')
    source = {
        'a.weight': torch.ones(2, 2, 3, 3),
        'b.weight': torch.ones(2, 2, 3, 3)
    }
    target = {
        'a.weight': torch.zeros(2, 2, 3, 3, 3),
        'b.weight': torch.zeros(2, 2, 1, 3, 3)
    }
    with caplog.at_level(logging.INFO, logger='test_conv_inflation'):
        _, inflated = inflate_state_dict(
            source, target, centre_weighted_prefixes=['b.'], logger=logger)
    assert inflated == ['a.weight', 'b.weight']
    assert 'Inflated 2 2D conv kernels to 3D (1 with centre' in caplog.text

    target['b.weight'] = torch.zeros(2, 2, 4, 3, 3)  # even: no centre tap
    with pytest.raises(ValueError, match="'b.weight'.*no centre tap"):
        inflate_state_dict(source, target, centre_weighted_prefixes=['b.'])


def test_inflated_state_dict_loads_into_3d_net_and_keeps_2d_output():
    torch.manual_seed(6)
    net2d = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1))
    net3d = nn.Sequential(
        ReplicateTimeConv3d(3, 8, 3, padding=1), nn.ReLU(),
        ReplicateTimeConv3d(8, 8, 3, padding=1), nn.ReLU(),
        ReplicateTimeConv3d(8, 4, 1))
    state, inflated = inflate_state_dict(
        net2d.state_dict(),
        net3d.state_dict(),
        centre_weighted_prefixes=('2.', ))
    assert inflated == ['0.weight', '2.weight', '4.weight']
    net3d.load_state_dict(state)  # strict: every key fits
    torch.testing.assert_close(net3d[2].weight[:, :, 1],
                               0.75 * net2d[2].weight)
    frame = torch.randn(1, 3, 9, 9)
    out = net3d(frame[:, :, None].expand(-1, -1, 4, -1, -1))
    for t in range(4):
        torch.testing.assert_close(
            out[:, :, t], net2d(frame), rtol=0, atol=1e-5)
    # frames that differ do mix across time (the conv is really 3D)
    moving = torch.randn(1, 3, 4, 9, 9)
    assert not torch.allclose(
        net3d(moving), _per_frame(net2d, moving), atol=1e-3)


# --------------------------------------------------------------------------
# 2D box layer -> 4T (a box per frame); anchor-free layer -> every anchor
# --------------------------------------------------------------------------
@pytest.mark.parametrize('num_anchors,num_frames', [(3, 3), (1, 5), (2, 1)])
def test_expand_box_frames_against_a_loop(num_anchors, num_frames):
    torch.manual_seed(7)
    weight = torch.randn(num_anchors * 4, 5, 3, 3)
    bias = torch.randn(num_anchors * 4)
    out_w = expand_box_frames(weight, num_anchors, num_frames)
    out_b = expand_box_frames(bias, num_anchors, num_frames)
    assert out_w.shape == (num_anchors * num_frames * 4, 5, 3, 3)
    assert out_b.shape == (num_anchors * num_frames * 4, )
    for a in range(num_anchors):
        for t in range(num_frames):
            for c in range(4):
                # CiCoHead's conv_reg channel ((a * T + t) * 4 + c)
                assert torch.equal(out_w[(a * num_frames + t) * 4 + c],
                                   weight[a * 4 + c])
                assert out_b[(a * num_frames + t) * 4 + c] == bias[a * 4 + c]
    out_w.zero_()  # a copy, not a view of the source
    assert weight.abs().sum() > 0


def test_expanded_box_layer_gives_the_2d_box_in_every_frame():
    torch.manual_seed(8)
    conv2d = nn.Conv2d(6, 3 * 4, 3, padding=1)
    conv = nn.Conv2d(6, 3 * 5 * 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(expand_box_frames(conv2d.weight, 3, 5))
        conv.bias.copy_(expand_box_frames(conv2d.bias, 3, 5))
    feat = torch.randn(2, 6, 7, 8)
    boxes2d = conv2d(feat).view(2, 3, 4, 7, 8)
    boxes = conv(feat).view(2, 3, 5, 4, 7, 8)  # (anchor, frame, coordinate)
    for t in range(5):
        torch.testing.assert_close(boxes[:, :, t], boxes2d)


def test_repeat_over_anchors_against_a_loop():
    torch.manual_seed(9)
    weight, bias = torch.randn(7, 4, 3, 3), torch.randn(7)
    out_w, out_b = repeat_over_anchors(weight, 3), repeat_over_anchors(bias, 3)
    assert out_w.shape == (21, 4, 3, 3) and out_b.shape == (21, )
    for a in range(3):
        for o in range(7):
            # mmdet AnchorHead channel a * O + o
            assert torch.equal(out_w[a * 7 + o], weight[o])
            assert out_b[a * 7 + o] == bias[o]
