"""Test-time filters and NMS of a clip's candidates (clip_nms), each on a
scripted case with its values worked out by hand."""
import torch

from mmvis_clip.models.layers.clip_nms import clip_nms, pairwise_clip_ious

STRIDE = 4
IMG = (64, 64)  # input pixels; masks are 16 x 16


def _mask(x1, y1, x2, y2, frames=2):
    """(T, 16, 16) bool mask filling a box given in mask pixels."""
    m = torch.zeros(frames, 16, 16, dtype=torch.bool)
    m[:, y1:y2, x1:x2] = True
    return m


def _cands(boxes_px, masks, scores, labels, quality=None):
    """Candidates with the same box on both frames (input pixels)."""
    boxes = torch.tensor(boxes_px, dtype=torch.float32)
    bboxes = boxes[:, None].repeat(1, 2, 1)
    return dict(
        scores=torch.tensor(scores),
        labels=torch.tensor(labels),
        bboxes=bboxes,
        clip_bboxes=boxes,
        masks=torch.stack(masks),
        img_shape=IMG,
        proto_stride=STRIDE,
        quality=None if quality is None else torch.tensor(quality))


def _keep(**kwargs):
    return clip_nms(**kwargs).tolist()


def test_separate_objects_all_kept_best_first():
    cands = _cands([[0, 0, 16, 16], [32, 32, 48, 48]],
                   [_mask(0, 0, 4, 4), _mask(8, 8, 12, 12)], [0.3, 0.9],
                   [0, 0])
    assert _keep(**cands) == [1, 0]


def test_box_centred_outside_the_image_in_every_frame_is_dropped():
    # centre (68, 8) is outside the 64-wide image; its mask is fine
    cands = _cands([[60, 0, 76, 16], [0, 0, 16, 16]],
                   [_mask(12, 0, 16, 4), _mask(0, 0, 4, 4)], [0.9, 0.8],
                   [0, 0])
    assert _keep(**cands) == [1]
    # inside in one frame is enough
    cands['bboxes'][0, 1] = torch.tensor([40., 0., 56., 16.])
    assert _keep(**cands) == [0, 1]


def test_empty_and_low_cover_masks_are_dropped():
    # 5 pixels is "empty" (more than 5 needed); 6 pixels in a 16x16-pixel
    # box (4x4 = 16 mask pixels) covers 0.375 > 0.1
    five = _mask(0, 0, 5, 1)
    six = _mask(0, 0, 6, 1)
    cands = _cands([[0, 0, 16, 16], [0, 32, 16, 48]],
                   [five, _mask(0, 8, 6, 9)], [0.9, 0.8], [0, 1])
    assert _keep(**cands) == [1]
    # a 64x64 box (256 mask pixels) with 6 mask pixels covers 0.023 < 0.1
    cands = _cands([[0, 0, 64, 64], [0, 0, 16, 16]], [six, six], [0.9, 0.8],
                   [0, 1])
    assert _keep(**cands) == [1]
    assert _keep(**cands, min_box_cover=0.02) == [0, 1]


def test_rank_is_score_times_quality_and_thresholded():
    cands = _cands([[0, 0, 16, 16], [32, 32, 48, 48]],
                   [_mask(0, 0, 4, 4), _mask(8, 8, 12, 12)], [0.9, 0.5],
                   [0, 0],
                   quality=[0.1, 1.0])
    # ranks 0.09 (below the 0.1 threshold) and 0.5
    assert _keep(**cands) == [1]
    assert _keep(**cands, score_thr=0.05) == [1, 0]


def test_suppression_mixes_box_clip_box_and_mask_iou():
    # boxes [0,0,32,32] and [0,0,32,16]: box IoU 0.5 (same on both frames
    # and for the circumscribed boxes); masks 8x8 and 8x4 (mask pixels):
    # mask IoU 0.5 -> 0.25 * 0.5 + 0.25 * 0.5 + 0.5 * 0.5 = 0.5, not above
    # the 0.5 threshold
    cands = _cands([[0, 0, 32, 32], [0, 0, 32, 16]],
                   [_mask(0, 0, 8, 8), _mask(0, 0, 8, 4)], [0.9, 0.8],
                   [0, 0])
    box_iou, m_iou, clip_iou, box_max, mask_max = pairwise_clip_ious(
        cands['bboxes'], cands['clip_bboxes'], cands['masks'])
    assert torch.allclose(box_iou[0, 1], torch.tensor(0.5))
    assert torch.allclose(m_iou[0, 1], torch.tensor(0.5))
    assert torch.allclose(clip_iou[0, 1], torch.tensor(0.5))
    assert _keep(**cands) == [0, 1]
    # 0.5 mixed IoU is above a 0.49 threshold
    assert _keep(**cands, iou_thr=0.49) == [0]
    # another class is never suppressed
    cands['labels'] = torch.tensor([0, 1])
    assert _keep(**cands, iou_thr=0.49) == [0, 1]


def test_mask_iou_only_counts_frames_where_both_masks_exist():
    # frame 0: identical masks (IoU 1); frame 1: the second mask is empty,
    # so only frame 0 counts: box 1, clip box 1, mask 1 -> suppressed;
    # with frame 1 counted as IoU 0 it would average to 0.5 and stay
    m0 = _mask(0, 0, 4, 4)
    m1 = m0.clone()
    m1[1] = False
    cands = _cands([[0, 0, 16, 16], [0, 0, 16, 16]], [m0, m1], [0.9, 0.8],
                   [0, 0])
    _, m_iou, _, _, _ = pairwise_clip_ious(cands['bboxes'],
                                           cands['clip_bboxes'],
                                           cands['masks'])
    assert m_iou[0, 1] == 1.0
    assert _keep(**cands) == [0]


def test_near_duplicate_box_is_suppressed_below_the_mixed_threshold():
    # box IoU 0.95 in both frames but disjoint masks: mixed IoU
    # 0.25 * 0.95 + 0.25 * 0.95 + 0 = 0.475 <= 0.5, yet a near-duplicate
    cands = _cands([[0, 0, 40, 40], [0, 0, 40, 38]],
                   [_mask(0, 0, 4, 4), _mask(5, 5, 9, 9)], [0.9, 0.8],
                   [0, 0])
    assert _keep(**cands) == [0]
    assert _keep(**cands, dup_iou_thr=0.96) == [0, 1]


def test_fast_nms_lets_a_suppressed_candidate_suppress():
    # A suppresses B, B overlaps C, A does not overlap C: YOLACT's Fast NMS
    # (the public code's) drops C too; greedy NMS would keep it
    boxes = [[0, 0, 16, 16], [8, 0, 24, 16], [16, 0, 32, 16]]
    masks = [_mask(0, 0, 4, 4), _mask(2, 0, 6, 4), _mask(4, 0, 8, 4)]
    cands = _cands(boxes, masks, [0.9, 0.8, 0.7], [0, 0, 0])
    # A-B and B-C: box IoU 1/3, mask IoU 1/3 -> mixed 1/3; A-C: 0
    assert _keep(**cands, iou_thr=0.3) == [0]
    assert _keep(**cands, iou_thr=0.3, max_per_clip=None) == [0]
    assert _keep(**cands) == [0, 1, 2]
    assert _keep(**cands, max_per_clip=2) == [0, 1]


def test_class_agnostic_duplicate_rule_crosses_classes():
    # the same box (IoU 1 in both frames and as circumscribed boxes) under
    # two classes, disjoint masks: the public code's first filter drops the
    # lower-ranked one whatever its class (0.5 * 1 + 0.5 * 1 > 0.9); per
    # class, no NMS compares them and no per-frame duplicate is of its class
    cands = _cands([[0, 0, 40, 40], [0, 0, 40, 40]],
                   [_mask(0, 0, 4, 4), _mask(5, 5, 9, 9)], [0.8, 0.9],
                   [0, 1])
    assert _keep(**cands, dup_rule='class_agnostic_box') == [1]
    assert _keep(**cands, dup_rule='per_class_frame') == [1, 0]


def test_class_agnostic_duplicate_rule_averages_box_iou_over_all_frames():
    # frame 0: the same box; frame 1: disjoint boxes. Mean frame box IoU
    # 0.5, circumscribed boxes [0, 0, 40, 40] and [0, 0, 60, 40]: IoU 2/3,
    # so 0.5 * 0.5 + 0.5 * 2/3 = 0.583 <= 0.9: kept by the public code's
    # rule; per class and frame, box IoU 1 in frame 0 is a duplicate (both
    # masks non-empty there)
    bboxes = torch.tensor([[[0., 0., 40., 40.], [0., 0., 20., 40.]],
                           [[0., 0., 40., 40.], [40., 0., 60., 40.]]])
    cands = _cands([[0, 0, 40, 40], [0, 0, 60, 40]],
                   [_mask(0, 0, 4, 4), _mask(5, 5, 9, 9)], [0.9, 0.8],
                   [0, 0])
    cands['bboxes'] = bboxes
    assert _keep(**cands, dup_rule='class_agnostic_box') == [0, 1]
    assert _keep(**cands, dup_rule='per_class_frame') == [0]


def test_coincident_masks_are_duplicates_under_both_rules():
    # identical masks in a frame (IoU 1 > 0.9) but boxes far apart: the
    # mixed IoU 0.25 * 0 + 0.25 * 0 + 0.5 * 1 = 0.5 is not above 0.5, yet
    # the public code's "coincident mask" sets it to 1 (same class only)
    cands = _cands([[0, 0, 8, 8], [40, 40, 48, 48]],
                   [_mask(0, 0, 4, 4), _mask(0, 0, 4, 4)], [0.9, 0.8],
                   [0, 0])
    for rule in ('class_agnostic_box', 'per_class_frame'):
        assert _keep(**cands, dup_rule=rule) == [0], rule
    cands['labels'] = torch.tensor([0, 1])
    assert _keep(**cands) == [0, 1]


def test_settings_from_a_test_config_once():
    """CiCo's test_cfg keys (nms_iou_thr is clip_nms's iou_thr), the
    others at the defaults clip_nms itself uses."""
    from mmvis_clip.models.layers.clip_nms import ClipNMS
    nms = ClipNMS.from_test_cfg(
        dict(score_thr=0.2, nms_iou_thr=0.3, mask_thr=0.5, nms_pre=None))
    assert vars(nms) == dict(
        score_thr=0.2, iou_thr=0.3, dup_iou_thr=0.9,
        dup_rule='per_class_frame', min_mask_pixels=5, min_box_cover=0.1,
        max_per_clip=None)
    assert vars(ClipNMS.from_test_cfg(None)) == vars(ClipNMS())
