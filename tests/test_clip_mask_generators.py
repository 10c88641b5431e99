"""CiCo clip mask generators (Eq. 5, 6) and their mask loss (Eq. 8)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from mmvis_clip.models.mask_generators.condinst_clip_mask_generator import \
    CondInstClipMaskGenerator
from mmvis_clip.models.mask_generators.yolact_clip_mask_generator import (
    YolactClipMaskGenerator, crop_masks)

# (N=2, 4): the first box is aligned to the stride-2 grid, the second not
BOXES = torch.tensor([[2., 2., 6., 8.], [1., 0., 5., 3.]])
STRIDE = 2.0
# expected crops on a 4 x 5 mask: box 0 covers columns 1-2 and rows 1-3;
# box 1 spans x in [0.5, 2.5) and y in [0, 1.5) mask pixels, so it touches
# columns 0-2 and rows 0-1
CROP = torch.tensor([
    [[0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0]],
    [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
], dtype=torch.float64)
CROP_SLICES = [(slice(1, 4), slice(1, 3)), (slice(0, 2), slice(0, 3))]
BOX_AREAS = [4 * 6 / 4, 4 * 3 / 4]  # in mask pixels


def randn(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def test_registry_and_sizes():
    yolact = MODELS.build(dict(type='YolactClipMaskGenerator'))
    condinst = MODELS.build(dict(type='CondInstClipMaskGenerator'))
    assert (yolact.num_protos, yolact.num_params) == (32, 32)
    assert (condinst.num_protos, condinst.num_params) == (8, 169)
    for k, c, layers in [(3, 4, 2), (3, 4, 3), (5, 2, 4)]:
        gen = CondInstClipMaskGenerator(k, c, layers)
        expected = (k + 2) * c + c + (layers - 2) * (c * c + c) + c + 1
        assert gen.num_params == expected


def test_yolact_logits_match_per_frame_loop():
    k, t, h, w = 4, 3, 4, 5
    protos, params = randn(k, t, h, w, seed=1), randn(2, k, seed=2)
    logits = YolactClipMaskGenerator(num_protos=k)(protos, params, BOXES,
                                                   STRIDE)
    assert logits.shape == (2, t, h, w)
    for n in range(2):
        for f in range(t):
            expected = torch.zeros(h, w, dtype=torch.float64)
            for c in range(k):
                expected += protos[c, f] * math.tanh(params[n, c].item())
            torch.testing.assert_close(logits[n, f], expected)


def condinst_reference(protos, params, boxes, stride, k, c, layers, scale):
    """Per frame and object: F.conv2d with 1x1 kernels sliced by hand."""
    _, t, h, w = protos.shape
    # pixel centres (j + 0.5) * stride; (box centre - pixel centre)
    xs = [(j + 0.5) * stride for j in range(w)]
    ys = [(i + 0.5) * stride for i in range(h)]
    outs = []
    for n in range(params.size(0)):
        cx = (boxes[n, 0].item() + boxes[n, 2].item()) / 2
        cy = (boxes[n, 1].item() + boxes[n, 3].item()) / 2
        rel = torch.tensor([[[(cx - x) / scale for x in xs] for _ in ys],
                            [[(cy - y) / scale for _ in xs] for y in ys]],
                           dtype=protos.dtype)
        dims = [k + 2] + [c] * (layers - 1) + [1]
        pos, kernels, biases = 0, [], []
        for cin, cout in zip(dims[:-1], dims[1:]):
            kernels.append(params[n, pos:pos + cout * cin].view(
                cout, cin, 1, 1))
            pos += cout * cin
        for cout in dims[1:]:
            biases.append(params[n, pos:pos + cout])
            pos += cout
        assert pos == params.size(1)
        frames = []
        for f in range(t):
            x = torch.cat([rel, protos[:, f]])[None]
            for i, (kern, bias) in enumerate(zip(kernels, biases)):
                x = F.conv2d(x, kern, bias)
                if i < len(kernels) - 1:
                    x = x.clamp(min=0)
            frames.append(x[0, 0])
        outs.append(torch.stack(frames))
    return torch.stack(outs)


def test_condinst_relative_coords_by_hand():
    gen = CondInstClipMaskGenerator(coord_scale=64.0)
    # 2 x 3 map, stride 4: pixel centres x = 2, 6, 10 and y = 2, 6;
    # box centre (6, 4)
    rel = gen.relative_coords(torch.tensor([[2., 0., 10., 8.]]), 4.0, 2, 3)
    expected = torch.tensor([[[4., 0., -4.], [4., 0., -4.]],
                             [[2., 2., 2.], [-2., -2., -2.]]]) / 64
    torch.testing.assert_close(rel[0], expected)


@pytest.mark.parametrize('k,c,layers', [(8, 8, 3), (3, 4, 3), (3, 4, 2),
                                        (2, 3, 4)])
def test_condinst_logits_match_per_frame_conv2d(k, c, layers):
    gen = CondInstClipMaskGenerator(k, c, layers, coord_scale=8.0)
    protos = randn(k, 3, 4, 5, seed=3)
    params = randn(2, gen.num_params, seed=4)
    logits = gen(protos, params, BOXES, STRIDE)
    assert logits.shape == (2, 3, 4, 5)
    expected = condinst_reference(protos, params, BOXES, STRIDE, k, c,
                                  layers, 8.0)
    torch.testing.assert_close(logits, expected)


@pytest.mark.parametrize('name', ['yolact', 'condinst'])
def test_identical_frames_give_identical_masks(name):
    gen = YolactClipMaskGenerator(8) if name == 'yolact' else \
        CondInstClipMaskGenerator(8)
    protos = randn(8, 1, 4, 5, seed=5).expand(8, 3, 4, 5)
    params = randn(2, gen.num_params, seed=6)
    logits = gen(protos, params, BOXES, STRIDE)
    assert logits[:, 0].abs().sum() > 0
    for f in (1, 2):
        torch.testing.assert_close(logits[:, f], logits[:, 0])


def test_crop_masks_zeroes_exactly_outside():
    masks = randn(2, 3, 4, 5, seed=7)
    cropped = crop_masks(masks, BOXES, STRIDE)
    torch.testing.assert_close(cropped, masks * CROP[:, None])
    # the module method is the same crop
    torch.testing.assert_close(
        YolactClipMaskGenerator(4).crop_masks(masks, BOXES, STRIDE), cropped)
    # a zero-width box keeps nothing, a box over the map keeps everything
    boxes = torch.tensor([[4., 2., 4., 8.], [0., 0., 10., 8.]])
    cropped = crop_masks(masks[:, :1].abs() + 1, boxes, STRIDE)
    assert cropped[0].sum() == 0 and (cropped[1] > 0).all()


def test_yolact_loss_by_hand():
    logits = randn(2, 3, 4, 5, seed=8).requires_grad_()
    gt = (randn(2, 3, 4, 5, seed=9) > 0).double()
    gen = YolactClipMaskGenerator(4, loss_weight=2.5)
    loss = gen.loss(logits, gt, BOXES, STRIDE)
    terms = []
    for n, (rows, cols) in enumerate(CROP_SLICES):
        for f in range(3):
            bce = F.binary_cross_entropy_with_logits(
                logits[n, f, rows, cols], gt[n, f, rows, cols],
                reduction='sum')
            terms.append(bce.item() / BOX_AREAS[n])
    assert loss.item() == pytest.approx(2.5 * sum(terms) / len(terms),
                                        rel=1e-12)
    loss.backward()
    # pixels outside the crop do not contribute
    assert (logits.grad * (1 - CROP[:, None])).abs().sum() == 0
    assert (logits.grad * CROP[:, None]).abs().sum() > 0


def test_condinst_loss_by_hand():
    logits = randn(2, 3, 4, 5, seed=10)
    gt = (randn(2, 3, 4, 5, seed=11) > 0).double()
    loss = CondInstClipMaskGenerator(loss_weight=3.0).loss(
        logits, gt, BOXES, STRIDE)
    total = sum(
        math.log1p(math.exp(-x)) if y else math.log1p(math.exp(x))
        for x, y in zip(logits.flatten().tolist(), gt.flatten().tolist()))
    assert loss.item() == pytest.approx(3.0 * total / logits.numel(),
                                        rel=1e-12)


@pytest.mark.parametrize('name', ['yolact', 'condinst'])
def test_no_objects(name):
    gen = YolactClipMaskGenerator(8) if name == 'yolact' else \
        CondInstClipMaskGenerator(8)
    protos = randn(8, 3, 4, 5).requires_grad_()
    params = torch.zeros(0, gen.num_params, requires_grad=True,
                         dtype=torch.float64)
    logits = gen(protos, params, torch.zeros(0, 4), STRIDE)
    assert logits.shape == (0, 3, 4, 5)
    loss = gen.loss(logits, torch.zeros(0, 3, 4, 5), torch.zeros(0, 4),
                    STRIDE)
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()


def test_bad_input():
    with pytest.raises(ValueError, match='params'):
        CondInstClipMaskGenerator()(randn(8, 3, 4, 5), randn(2, 100),
                                    BOXES, STRIDE)
    with pytest.raises(ValueError, match='protos'):
        YolactClipMaskGenerator(32)(randn(8, 3, 4, 5), randn(2, 32), BOXES,
                                    STRIDE)
    with pytest.raises(ValueError, match='gt_masks'):
        YolactClipMaskGenerator(8).loss(randn(2, 3, 4, 5), randn(2, 2, 4, 5),
                                        BOXES, STRIDE)
