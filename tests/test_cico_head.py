"""CiCoHead: per-frame prediction rows, their matching, and the box losses,
against direct loops and hand-computed values."""
import pytest
import torch
from mmdet.models.losses.iou_loss import diou_loss
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import register_all_modules
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

import mmvis_clip  # noqa: F401
from mmvis_clip.models.utils.clip_boxes import (circumscribed_boxes,
                                                matching_frames)

register_all_modules()

K, C, T = 2, 8, 3


def build_head(per_frame_rows=True, num_frames=T, **kwargs):
    cfg = dict(
        type='CiCoHead',
        num_classes=K,
        in_channels=C,
        feat_channels=C,
        stacked_convs=1,
        num_frames=num_frames,
        per_frame_rows=per_frame_rows,
        num_params=5,
        embed_dim=4,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=3,
            scales_per_octave=1,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16]),
        train_cfg=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.4,
                min_pos_iou=0.,
                ignore_iof_thr=-1),
            match_radius=1),
        test_cfg=dict(score_thr=0.0))
    cfg.update(kwargs)
    head = MODELS.build(ConfigDict(cfg))
    head.init_weights()
    return head


def cubes(num_frames=T, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(1, C, num_frames, 8, 8, generator=g),
            torch.randn(1, C, num_frames, 4, 4, generator=g))


def test_per_frame_rows_give_t_times_a_predictions():
    head = build_head()
    outs = head(cubes())
    a = head.num_base_priors
    cls_scores, bbox_preds, params, embeds, centerness = outs
    assert cls_scores[0].shape == (1, a * K, T, 8, 8)
    assert bbox_preds[0].shape == (1, a * 4 * T, T, 8, 8)
    assert params[1].shape == (1, a * 5, T, 4, 4)
    assert embeds[1].shape == (1, a * 4, T, 4, 4)
    assert centerness[0].shape == (1, a, T, 8, 8)
    cls, deltas, par, emb, cen = head.flatten_predictions(*outs)
    num_anchors = a * (64 + 16)
    assert cls.shape == (1, T * num_anchors, K)
    assert deltas.shape == (1, T * num_anchors, T, 4)
    assert par.shape == (1, T * num_anchors, 5)
    assert cen.shape == (1, T * num_anchors)
    anchors, frames = head.row_priors(cls_scores)
    assert anchors.shape == (T * num_anchors, 4)
    assert frames.tolist() == sum([[t] * num_anchors for t in range(T)], [])
    # row r * NA + (y * 8 + x) * A + anchor of level 0 is frame r's slice
    r, y, x, anchor = 2, 3, 5, 1
    row = r * num_anchors + (y * 8 + x) * a + anchor
    assert torch.equal(cls[0, row], cls_scores[0][0, anchor * K:(anchor + 1) *
                                                  K, r, y, x])
    coords = bbox_preds[0][0, :, r, y, x].view(a, T, 4)[anchor]
    assert torch.equal(deltas[0, row], coords)


def test_time_mean_rows_are_one_per_clip():
    head = build_head(per_frame_rows=False)
    x = cubes()
    outs = head(x)
    a = head.num_base_priors
    assert outs[0][0].shape == (1, a * K, 1, 8, 8)
    anchors, frames = head.row_priors(outs[0])
    assert anchors.shape[0] == a * 80 and (frames == -1).all()
    # the rows see the time mean of the tower
    tower = x[0]
    for conv in head.cls_convs:
        tower = torch.stack([conv(tower[:, :, t]) for t in range(T)], 2)
    expected = head.conv_cls(tower.mean(2))
    assert torch.allclose(outs[0][0][:, :, 0], expected, atol=1e-6)


def _direct_assign(anchors, boxes):
    """mmdet's MaxIoUAssigner (pos 0.5, neg 0.4, min_pos_iou 0) as a loop:
    -2 ignored, -1 negative, else the box index."""
    ious = bbox_overlaps(boxes, anchors)  # (N, A)
    out = []
    for j in range(anchors.size(0)):
        best = ious[:, j].max()
        if best < 0.4:
            out.append(-1)
        elif best >= 0.5:
            out.append(int(ious[:, j].argmax()))
        else:
            out.append(-2)
    for i in range(boxes.size(0)):  # each box's best anchors
        best = ious[i].max()
        for j in range(anchors.size(0)):
            if best >= 0 and ious[i, j] == best:
                out[j] = i
    return out


def test_each_row_is_matched_on_its_own_frame():
    head = build_head()
    cls_scores = head(cubes())[0]
    anchors, frames = head.row_priors(cls_scores)
    # object 0 only in frame 0, object 1 in all frames, moving right
    bboxes = torch.tensor([[[4., 4., 28., 28.]] * T,
                           [[30., 30., 54., 54.], [34., 30., 58., 54.],
                            [38., 30., 62., 54.]]])
    valid = torch.tensor([[True, False, False], [True, True, True]])
    gts = InstanceData(
        bboxes=bboxes,
        valid=valid,
        labels=torch.tensor([0, 1]),
        instances_ids=torch.tensor([7, 8]))
    got = head._assign_rows(anchors, frames, gts)
    for t in range(T):
        rows = frames == t
        present = valid[:, t].nonzero().squeeze(1)
        window = matching_frames(T, 1, t)
        boxes = circumscribed_boxes(bboxes[present], valid[present], window)
        expected = [
            int(present[i]) if i >= 0 else i
            for i in _direct_assign(anchors[rows], boxes)
        ]
        assert got[rows].tolist() == expected
    # the object absent from frames 1 and 2 has no positive there
    assert (got[frames == 0] == 0).any()
    assert not (got[frames > 0] == 0).any()
    assert (got[frames > 0] == 1).any()


def test_box_losses_on_present_frames_by_hand():
    head = build_head(num_frames=2)
    anchors = torch.tensor([[0., 0., 20., 20.]])
    gt = torch.tensor([[[2., 2., 22., 22.], [0., 0., 0., 0.]]])
    present = torch.tensor([[True, False]])
    deltas = torch.tensor([[[0.1, -0.2, 0.05, 0.3], [9., 9., 9., 9.]]])
    centerness = torch.tensor([0.4])
    losses = head._box_losses(deltas, anchors, gt, present, centerness, 2)
    target = head.bbox_coder.encode(anchors, gt[:, 0])[0]
    diff = (deltas[0, 0] - target).abs()
    smooth = torch.where(diff < 1, 0.5 * diff**2, diff - 0.5).sum()
    assert torch.allclose(losses['loss_bbox'], smooth, atol=1e-6)
    decoded = head.bbox_coder.decode(anchors, deltas[0, :1])
    iou_loss = diou_loss(decoded, gt[:, 0], reduction='none')[0]
    assert torch.allclose(losses['loss_iou'], iou_loss, atol=1e-6)
    q = (1 - iou_loss).clamp(0, 1)
    p = torch.sigmoid(torch.tensor(0.4))
    bce = -(q * p.log() + (1 - q) * (1 - p).log())
    assert torch.allclose(losses['loss_centerness'], bce, atol=1e-6)
    assert all(torch.isfinite(v) for v in losses.values())


def test_loss_trains_rows_of_all_frames_and_passes_row_frames():
    head = build_head()
    bboxes = torch.tensor([[[4., 4., 28., 28.]] * T,
                           [[30., 30., 54., 54.]] * T])
    gts = InstanceData(
        bboxes=bboxes,
        valid=torch.tensor([[True, False, False], [True, True, True]]),
        labels=torch.tensor([0, 1]),
        instances_ids=torch.tensor([7, 8]))
    losses, positives = head.loss(cubes(), [gts])  # not AnchorHead.loss
    assert set(losses) == {
        'loss_cls', 'loss_bbox', 'loss_iou', 'loss_centerness', 'loss_track'
    }
    pos = positives[0]
    assert set(pos.row_frames.tolist()) == {0, 1, 2}
    assert not ((pos.gt_inds == 0) & (pos.row_frames > 0)).any()
    sum(losses.values()).backward()
    for name in ('conv_cls', 'conv_reg', 'conv_centerness', 'conv_embed'):
        assert getattr(head, name).weight.grad.abs().sum() > 0, name


@pytest.mark.parametrize('per_frame_rows', [True, False])
def test_predict_pools_the_rows(per_frame_rows):
    head = build_head(per_frame_rows=per_frame_rows)
    # not AnchorHead.predict: candidates of all rows, before NMS
    cands = head.predict(cubes(), [dict(img_shape=(64, 64))])[0]
    rows = T if per_frame_rows else 1
    # nms_pre None: min(100 T, 300) of the (row, anchor, class) triples
    assert len(cands) == min(300, rows * 240 * K)
    assert cands.bboxes.shape == (len(cands), T, 4)
    assert torch.allclose(cands.embeddings.norm(dim=1),
                          torch.ones(len(cands)))
    assert ((cands.quality > 0) & (cands.quality < 1)).all()


def test_predict_under_bf16_autocast_gives_float32_results():
    """Scores and boxes are results: float32 even when the head ran in
    bfloat16 (they would reach the metric's ``.numpy()`` as bfloat16)."""
    head = build_head()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = head(cubes())
        assert outs[0][0].dtype == torch.bfloat16
        cands = head.predict_by_feat(
            *outs, batch_img_metas=[dict(img_shape=(64, 64))])[0]
    for key in ('scores', 'quality', 'bboxes', 'clip_bboxes', 'params',
                'embeddings'):
        assert cands.get(key).dtype == torch.float32, key


def test_absent_boxes_are_filled_from_the_nearest_present_frame():
    from mmvis_clip.models.utils.clip_ground_truth import fill_absent_boxes
    b = torch.arange(1., 5.)
    bboxes = torch.stack([
        torch.stack([b, b * 0, b * 0, b * 0, b * 3]),  # present 0 and 4
        torch.stack([b * 0, b * 2, b * 0, b * 0, b * 0]),  # present 1 only
    ])  # (2, 5, 4)
    valid = torch.tensor([[True, False, False, False, True],
                          [False, True, False, False, False]])
    filled = fill_absent_boxes(bboxes, valid)
    # object 0: frames 1 and 2 are nearest to frame 0 (frame 2 a tie: the
    # earlier one), frame 3 to frame 4; object 1: every frame from frame 1
    assert torch.equal(filled[0], torch.stack([b, b, b, b * 3, b * 3]))
    assert torch.equal(filled[1], torch.stack([b * 2] * 5))


def test_filled_absent_boxes_are_regressed():
    # object 0 is absent from frames 1 and 2: ignored, its positives'
    # box loss covers frame 0 only; filled, the frame-0 box is the target
    # of frames 1 and 2 too: the same as an object present with that box
    # on all frames (matching uses present frames only, so both clips
    # give the same positives as long as the row frames match)
    torch.manual_seed(0)
    head = build_head()
    head.train_cfg['match_radius'] = 0
    x = cubes()
    box = [4., 4., 28., 28.]
    absent = InstanceData(
        bboxes=torch.tensor([[box, [0.] * 4, [0.] * 4]]),
        valid=torch.tensor([[True, False, False]]),
        labels=torch.tensor([0]),
        instances_ids=torch.tensor([7]))
    head.train_cfg['absent_boxes'] = 'ignore'
    ignored = head.loss(x, [absent])[0]['loss_bbox']
    head.train_cfg['absent_boxes'] = 'fill'
    losses, positives = head.loss(x, [absent])
    assert set(positives[0].row_frames.tolist()) == {0}
    # by hand: every positive (all on row 0), all 3 frames against `box`
    flat = head.flatten_predictions(*head(x))[1][0]  # (RNA, T, 4)
    anchors, _ = head.row_priors(head(x)[0])
    pos = positives[0]
    rows = (head._assign_rows(
        anchors, head.row_priors(head(x)[0])[1], absent) >= 0).nonzero()[:, 0]
    target = head.bbox_coder.encode(
        anchors[rows][:, None].expand(-1, T, -1).reshape(-1, 4),
        torch.tensor([box]).expand(len(rows) * T, -1))
    diff = (flat[rows].reshape(-1, 4) - target).abs()
    smooth = torch.where(diff < 1, 0.5 * diff**2, diff - 0.5).sum()
    assert len(rows) == len(pos)
    assert torch.allclose(losses['loss_bbox'], smooth / (len(rows) * T),
                          atol=1e-5)
    assert not torch.allclose(losses['loss_bbox'], ignored)


def test_row_frame_keeps_the_candidates_of_one_frame_rows():
    head = build_head(test_cfg=dict(score_thr=0.0, row_frame=1))
    outs = head(cubes())
    cands = head.predict_by_feat(
        *outs, batch_img_metas=[dict(img_shape=(64, 64))])[0]
    # direct: the frame-1 rows' (anchor, class) scores, the best 300
    cls = head.flatten_predictions(*outs)[0][0]  # (RNA, K)
    anchors, frames = head.row_priors(outs[0])
    scores = cls[frames == 1].sigmoid().flatten()
    assert len(scores) == 240 * K and len(cands) == 300
    assert torch.allclose(
        cands.scores.sort(descending=True).values,
        scores.sort(descending=True).values[:300])
    # a kept (row, anchor) has its frame-1 anchor's boxes
    best = scores.argmax()
    deltas = head.flatten_predictions(*outs)[1][0][frames == 1]
    boxes = head.bbox_coder.decode(
        anchors[frames == 1][best // K].expand(T, 4), deltas[best // K],
        max_shape=(64, 64))
    assert torch.allclose(cands.bboxes[cands.scores.argmax()], boxes)


@pytest.mark.parametrize('per_frame_rows, row_frame',
                         [(True, 3), (True, -1), (True, True), (True, 1.0),
                          (False, 0)])
def test_bad_row_frame_is_refused_in_one_line(per_frame_rows, row_frame):
    with pytest.raises(ValueError, match='test_cfg.row_frame must be'):
        build_head(
            per_frame_rows=per_frame_rows,
            test_cfg=dict(score_thr=0.0, row_frame=row_frame))
