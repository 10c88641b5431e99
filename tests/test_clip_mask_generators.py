"""CiCo clip mask generators (Eq. 5, 6) and their mask loss (Eq. 8)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from mmvis_clip.models.mask_generators import (CondInstClipMaskGenerator,
                                               YolactClipMaskGenerator,
                                               box_area, box_region,
                                               clip_mask_bce_loss, crop_masks,
                                               enlarge_boxes,
                                               frame_decay_weights)

# (N=2, 4): the first box is aligned to the stride-2 grid, the second not
BOXES = torch.tensor([[2., 2., 6., 8.], [1., 0., 5., 3.]])
STRIDE = 2.0
# crops on a 4 x 5 mask by the public code's rule, columns
# floor(x1 / s) - p <= j < floor(x2 / s) + p (rows alike), clamped:
# box 0: x in [1, 3), y in [1, 4) mask pixels; box 1: x in [0.5, 2.5),
# y in [0, 1.5), floored to [0, 2) and [0, 1)
CROP_PAD0 = torch.tensor([
    [[0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0], [0, 1, 1, 0, 0]],
    [[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
], dtype=torch.float64)
# padding 1: box 0 columns 0-3, rows 0-3 (4 + 1 clamped to 4); box 1
# columns 0-2, rows 0-1
CROP_PAD1 = torch.tensor([
    [[1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 0]],
    [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
], dtype=torch.float64)
# (3 - 1) * (4 - 1) and (2 - 0) * (1 - 0) mask pixels
BOX_AREAS = [6., 2.]

# a hand-made clip for the loss: 6 x 8 mask, stride 4 (a 24 x 32 image)
LOSS_STRIDE = 4.0
LOSS_BOXES = torch.tensor([[4., 4., 12., 16.], [20., 8., 21., 9.]])
# box 0: 8 x 12 -> 12 x 18 about (8, 10): [2, 1, 14, 19]; box 1: 1 x 1,
# 1.5 x 1.5 is below 0.1 of the image (3.2 x 2.4), so 3.2 x 2.4 about
# (20.5, 8.5): [18.9, 7.3, 22.1, 9.7]
LOSS_CROP_BOXES = torch.tensor([[2., 1., 14., 19.],
                                [18.9, 7.3, 22.1, 9.7]])
# padded by 1: box 0 columns floor(0.5) - 1 -> 0 .. floor(3.5) + 1 = 4,
# rows 0 .. floor(4.75) + 1 = 5; box 1 columns floor(4.725) - 1 = 3 ..
# floor(5.525) + 1 = 6, rows floor(1.825) - 1 = 0 .. floor(2.425) + 1 = 3
LOSS_CROPS = [(range(0, 5), range(0, 4)), (range(0, 3), range(3, 6))]
# unenlarged areas: (3 - 1) * (4 - 1); box 1 spans no whole pixel: 1 * 1
LOSS_AREAS = [6., 1.]


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
    gen = CondInstClipMaskGenerator(
        k, c, layers, coord_scale=8.0, params_tanh=False)
    protos = randn(k, 3, 4, 5, seed=3)
    params = randn(2, gen.num_params, seed=4)
    logits = gen(protos, params, BOXES, STRIDE)
    assert logits.shape == (2, 3, 4, 5)
    expected = condinst_reference(protos, params, BOXES, STRIDE, k, c,
                                  layers, 8.0)
    torch.testing.assert_close(logits, expected)
    # the default (the public code's): the dynamic kernels through tanh
    bounded = CondInstClipMaskGenerator(k, c, layers, coord_scale=8.0)
    torch.testing.assert_close(
        bounded(protos, params, BOXES, STRIDE),
        condinst_reference(protos, params.tanh(), BOXES, STRIDE, k, c,
                           layers, 8.0))


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


def test_box_region_and_area_by_hand():
    for pad, crop in ((0, CROP_PAD0), (1, CROP_PAD1)):
        region = box_region(BOXES, STRIDE, 4, 5, padding=pad)
        assert region.shape == (2, 1, 4, 5) and region.dtype == torch.bool
        torch.testing.assert_close(region[:, 0].double(), crop)
    assert box_area(BOXES, STRIDE, 4, 5).tolist() == BOX_AREAS
    # narrower than a pixel: one pixel; beyond the map: clamped to it
    boxes = torch.tensor([[3.2, 3.2, 3.4, 3.4], [-4., -4., 20., 20.]])
    assert box_area(boxes, STRIDE, 4, 5).tolist() == [1., 20.]
    assert box_region(boxes, STRIDE, 4, 5, padding=0)[0].sum() == 0
    assert box_region(boxes, STRIDE, 4, 5, padding=0)[1].all()


def test_enlarge_boxes_by_hand():
    boxes = torch.tensor([[10., 20., 30., 60.], [0., 0., 100., 10.]])
    # image 100 x 400: minimum 40 wide, 10 high
    out = enlarge_boxes(boxes, 1.5, 0.1, (100., 400.))
    # box 0: 20 x 40 -> 30 (< 40) x 60 about (20, 40); box 1: 100 x 10
    # -> 150 x 15 about (50, 5)
    torch.testing.assert_close(
        out, torch.tensor([[0., 10., 40., 70.], [-25., -2.5, 125., 12.5]]))
    torch.testing.assert_close(
        enlarge_boxes(LOSS_BOXES, 1.5, 0.1, (24., 32.)), LOSS_CROP_BOXES)


def test_frame_decay_weights_by_hand():
    weights = frame_decay_weights(torch.tensor([0, 2, 1, -1]), 3, 0.9)
    torch.testing.assert_close(
        weights,
        torch.tensor([[1., .9, .81], [.81, .9, 1.], [.9, 1., .9],
                      [1., 1., 1.]]))


def test_crop_masks_zeroes_exactly_outside():
    masks = randn(2, 3, 4, 5, seed=7)
    cropped = crop_masks(masks, BOXES, STRIDE)
    torch.testing.assert_close(cropped, masks * CROP_PAD1[:, None])
    torch.testing.assert_close(
        crop_masks(masks, BOXES, STRIDE, padding=0),
        masks * CROP_PAD0[:, None])


@pytest.mark.parametrize('name', ['yolact', 'condinst'])
def test_test_time_crop(name):
    """Yolact crops at test by the box enlarged 1.1x, CondInst 1.5x (the
    public code's detection_within_clip), both with the 0.1 minimum."""
    gen = YolactClipMaskGenerator(4) if name == 'yolact' else \
        CondInstClipMaskGenerator(4)
    scale = 1.1 if name == 'yolact' else 1.5
    masks = randn(2, 3, 6, 8, seed=12)
    # box 0: 8 x 12 about (8, 10); box 1 takes the 0.1 minimum
    boxes = LOSS_BOXES
    crop_boxes = torch.tensor([[8 - 4 * scale, 10 - 6 * scale,
                                8 + 4 * scale, 10 + 6 * scale],
                               [18.9, 7.3, 22.1, 9.7]])
    expected = masks.clone()
    for n in range(2):
        x1, y1, x2, y2 = crop_boxes[n].tolist()
        for i in range(6):
            for j in range(8):
                inside = (max(math.floor(x1 / 4) - 1, 0) <= j <
                          min(math.floor(x2 / 4) + 1, 8)) and (
                              max(math.floor(y1 / 4) - 1, 0) <= i <
                              min(math.floor(y2 / 4) + 1, 6))
                if not inside:
                    expected[n, :, i, j] = 0
    out = gen.crop_masks(masks, boxes, LOSS_STRIDE)
    torch.testing.assert_close(out, expected)
    assert (out == 0).any() and (out != 0).any()
    # a scale given by the caller (the tracker's carried tracks) wins
    torch.testing.assert_close(
        gen.crop_masks(masks, boxes, LOSS_STRIDE, crop_scale=1.0,
                       min_crop_size=0.),
        crop_masks(masks, boxes, LOSS_STRIDE))
    if name == 'condinst':
        whole = CondInstClipMaskGenerator(4, crop=False)
        assert whole.crop_masks(masks, boxes, LOSS_STRIDE) is masks


def bce(x, y):
    return math.log1p(math.exp(-x)) if y else math.log1p(math.exp(x))


def loop_loss(logits, gt, crops, areas, row_frames, decay=0.9):
    """The public code's mask loss of one clip by explicit loops."""
    per_object = []
    for n, (rows, cols) in enumerate(crops):
        num, den = 0., 0.
        for t in range(logits.size(1)):
            total = sum(
                bce(logits[n, t, i, j].item(), gt[n, t, i, j].item())
                for i in rows for j in cols)
            weight = 1. if row_frames[n] < 0 else decay**abs(t -
                                                             row_frames[n])
            num += weight * total / areas[n]
            den += weight
        per_object.append(num / den)
    return sum(per_object) / len(per_object)


@pytest.mark.parametrize('name', ['yolact', 'condinst'])
def test_crop_loss_by_loop(name):
    """BCE summed in the 1.5x crop (0.1 minimum, 1 pixel padding) over the
    unenlarged box area, frames weighted 0.9^|t - row frame|."""
    logits = randn(2, 3, 6, 8, seed=8).requires_grad_()
    gt = (randn(2, 3, 6, 8, seed=9) > 0).double()
    gen = YolactClipMaskGenerator(4, loss_weight=2.5) if name == 'yolact' \
        else CondInstClipMaskGenerator(4, loss_weight=2.5)
    row_frames = [2, 0]
    weights = frame_decay_weights(torch.tensor(row_frames), 3, 0.9)
    loss = gen.loss(logits, gt, LOSS_BOXES, LOSS_STRIDE, weights)
    expected = loop_loss(logits, gt, LOSS_CROPS, LOSS_AREAS, row_frames)
    assert loss.item() == pytest.approx(2.5 * expected, rel=1e-7)
    loss.backward()
    # pixels outside the crop do not contribute
    inside = torch.zeros(2, 1, 6, 8, dtype=torch.bool)
    for n, (rows, cols) in enumerate(LOSS_CROPS):
        inside[n, 0, rows.start:rows.stop, cols.start:cols.stop] = True
    assert (logits.grad * ~inside).abs().sum() == 0
    assert (logits.grad * inside).abs().sum() > 0


def test_row_frame_minus_one_weighs_frames_equally():
    logits = randn(2, 3, 6, 8, seed=13)
    gt = (randn(2, 3, 6, 8, seed=14) > 0).double()
    gen = YolactClipMaskGenerator(4)
    weights = frame_decay_weights(torch.tensor([-1, -1]), 3, 0.9)
    loss = gen.loss(logits, gt, LOSS_BOXES, LOSS_STRIDE, weights)
    expected = loop_loss(logits, gt, LOSS_CROPS, LOSS_AREAS, [-1, -1])
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    torch.testing.assert_close(
        loss, gen.loss(logits, gt, LOSS_BOXES, LOSS_STRIDE))
    # and a real row frame changes it
    other = gen.loss(logits, gt, LOSS_BOXES, LOSS_STRIDE,
                     frame_decay_weights(torch.tensor([0, 0]), 3, 0.9))
    assert abs(other.item() - loss.item()) > 1e-6


def test_half_precision_loss_is_float32():
    logits = randn(1, 3, 6, 8, seed=15).half()
    gt = (randn(1, 3, 6, 8, seed=16) > 0).half()
    loss = clip_mask_bce_loss(logits, gt)
    assert loss.dtype == torch.float32
    ref = clip_mask_bce_loss(logits.float(), gt.float())
    torch.testing.assert_close(loss, ref)


def test_condinst_whole_map_loss_by_hand():
    """crop=False: Eq. 6 as written, BCE averaged over the whole map."""
    logits = randn(2, 3, 4, 5, seed=10)
    gt = (randn(2, 3, 4, 5, seed=11) > 0).double()
    loss = CondInstClipMaskGenerator(
        crop=False, loss_weight=3.0).loss(logits, gt, BOXES, STRIDE)
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
    # the head and the generator share the parameter count and the
    # prototypes: asserts
    with pytest.raises(AssertionError, match='params'):
        CondInstClipMaskGenerator()(randn(8, 3, 4, 5), randn(2, 100),
                                    BOXES, STRIDE)
    with pytest.raises(AssertionError, match='protos'):
        YolactClipMaskGenerator(32)(randn(8, 3, 4, 5), randn(2, 32), BOXES,
                                    STRIDE)
    with pytest.raises(AssertionError, match='gt_masks'):
        YolactClipMaskGenerator(8).loss(randn(2, 3, 4, 5), randn(2, 2, 4, 5),
                                        BOXES, STRIDE)
