"""ClipTracker (CiCo's clip-level tracker).

Scripted clips: objects are axis-aligned squares whose masks fill their
boxes, so box and mask IoUs are worked out by hand from the positions;
expected ids, scores and output frames come from the scenarios, not from
the tracker's code.
"""
from collections import Counter

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmvis_clip  # noqa: F401
from mmvis_clip.models.trackers.clip_tracker import ClipTracker
from mmvis_clip.models.trackers.track_assignment import (
    DROPPED, NEW_TRACK, assign_detections_to_tracks)
from mmvis_clip.models.utils.mask_iou import mask_iou
from mmvis_clip.models.vis.clip_schedule import ClipSchedule, frame_of_clip

H, W = 40, 64


def _merge_rate_tool():
    """tools/analysis/tracker_merge_rate.py, which keeps the former
    threshold rule."""
    import importlib.util
    import os.path as osp
    path = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
        'analysis', 'tracker_merge_rate.py')
    spec = importlib.util.spec_from_file_location('tracker_merge_rate', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _threshold_tracker(**kwargs):
    """The former rule's tracker, with ``kwargs`` on top of the rule."""
    tool = _merge_rate_tool()
    rule = {**tool.THRESHOLD_RULE, **kwargs}
    return rule.pop('tracker')(**rule)


def _clips(num_frames, clip_len, overlap):
    """The clips' frame ids of a video, as CiCo's schedule cuts it."""
    schedule = ClipSchedule(clip_len, overlap)
    clips = [schedule.push(t) for t in range(num_frames)] + [schedule.end()]
    return [clip for clip in clips if clip is not None]


def _mask(box):
    mask = torch.zeros(H, W, dtype=torch.bool)
    x1, y1, x2, y2 = [int(v) for v in box]
    mask[y1:y2, x1:x2] = True
    return mask


def _box(x, y=0, size=10):
    return [x, y, x + size, y + size]


def _dets(objs, clip_len=3, dim=2, params=False):
    """Detections of one clip.

    Args:
        objs (list[dict]): ``boxes`` (clip_len boxes, one per frame),
            ``embed``, optional ``label`` (0) and ``score`` (0.9).
        params (bool): Add ``params`` (N, 2) (an object's ``params``,
            default ``[1, 0]``) and ``clip_bboxes`` (N, 4), the
            circumscribed boxes.
    """
    num = len(objs)
    boxes = torch.tensor([o['boxes'] for o in objs],
                         dtype=torch.float32).view(num, clip_len, 4)
    masks = torch.zeros(num, clip_len, H, W, dtype=torch.bool)
    for i, o in enumerate(objs):
        for t, box in enumerate(o['boxes']):
            masks[i, t] = _mask(box)
    extra = dict()
    if params:
        extra = dict(
            params=torch.tensor([o.get('params', [1.0, 0.0]) for o in objs],
                                dtype=torch.float32).view(num, 2),
            clip_bboxes=torch.cat(
                [boxes[:, :, :2].min(1)[0], boxes[:, :, 2:].max(1)[0]],
                dim=1))
    return InstanceData(
        **extra,
        labels=torch.tensor([o.get('label', 0) for o in objs],
                            dtype=torch.long),
        scores=torch.tensor([o.get('score', 0.9) for o in objs]),
        embeddings=torch.tensor([o['embed'] for o in objs],
                                dtype=torch.float32).view(num, dim),
        bboxes=boxes,
        masks=masks)


def _static(x, embed, clip_len=3, **kwargs):
    return dict(boxes=[_box(x)] * clip_len, embed=embed, **kwargs)


def _ids(result):
    return result.instances_id.tolist()


def _frames(results):
    return [frame_id for frame_id, _ in results]


def _video(tracker, clips, dets):
    """The final frames of a video whose clips (frame ids, and detections
    per clip) go through the tracker and ClipSchedule's output rule, as
    CiCo runs them (a padded clip is the last)."""
    schedule = ClipSchedule(tracker.clip_len, tracker.overlap)
    out = []
    for frame_ids, clip_dets in zip(clips, dets):
        outputs = tracker.track_clip(clip_dets)
        out += schedule.final_frames(
            frame_ids, lambda p, copy: frame_of_clip(outputs, p, copy),
            last=len(set(frame_ids)) < len(frame_ids))
    return out + schedule.release()


A_EMB, B_EMB = [1.0, 0.0], [0.0, 1.0]
#: the authors' weights (the constructor defaults)
AUTHORS = dict(embed=1.0, mask_iou=0.5, box_iou=0.5, label=0.3, score=0.1)


class BoxRenderer:
    """``render_masks`` filling each (rounded) crop box in every frame when
    the object's ``params[0] > 0`` (else an empty mask), recording its
    calls."""

    def __init__(self, clip_len=3):
        self.clip_len = clip_len
        self.calls = []

    def __call__(self, params, boxes):
        self.calls.append((params.clone(), boxes.clone()))
        masks = torch.zeros(
            len(params), self.clip_len, H, W, dtype=torch.bool)
        for k, box in enumerate(boxes.tolist()):
            if params[k, 0] > 0:
                masks[k, :] = _mask([max(0, round(v)) for v in box])
        return masks


# --------------------------------------------------------------------------
# construction
# --------------------------------------------------------------------------
def test_built_from_registry_with_config_keys():
    weights = dict(embed=1.0, mask_iou=0.5, box_iou=0.5, label=0.3, score=0.1)
    tracker = MODELS.build(
        dict(
            type='ClipTracker',
            clip_len=5,
            overlap=2,
            weights=weights,
            num_clips_retain=4,
            momentums=dict(embeddings=0.5),
            assignment='hungarian',
            new_track=dict(iou=0.4),
            overlap_iou_scale=1.5,
            iou_min_pixels=0,
            on_conflict='new',
            lost_iou=False,
            carry=dict(
                clips=2,
                score_decay=0.8,
                score_thr=0.2,
                min_pixels=1,
                box_scale=1.5)))
    assert isinstance(tracker, ClipTracker)
    assert tracker.new_track == dict(
        embed=0.5, iou=0.4, small_iou_scale=0.5, small_area=0.1, label=1.0)
    assert (tracker.overlap_iou_scale, tracker.iou_min_pixels,
            tracker.on_conflict, tracker.lost_iou) == (1.5, 0, 'new', False)
    assert tracker.carry == dict(
        clips=2, score_decay=0.8, score_thr=0.2, min_pixels=1, box_scale=1.5)
    assert (tracker.clip_len, tracker.overlap) == (5, 2)
    assert tracker.weights == weights
    assert tracker.num_clips_retain == 4
    assert tracker.momentums == dict(embeddings=0.5)
    assert tracker.assignment == 'hungarian'


@pytest.mark.parametrize('kwargs,message', [
    (dict(overlap=3), 'overlap'),
    (dict(overlap=-1), 'overlap'),
    (dict(clip_len=0), 'clip_len'),
    (dict(weights=dict(embed=1.0)), 'weights'),
    (dict(momentums=dict(masks=0.5)), 'momentums'),
    (dict(num_clips_retain=0), 'num_frames_retain'),
])
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClipTracker(**kwargs)


@pytest.mark.parametrize('clip_len,carry_clips', [(1, 15), (2, 7), (3, 5),
                                                  (5, 3), (6, 3), (10, 3)])
def test_default_carry_clips(clip_len, carry_clips):
    tracker = ClipTracker(clip_len=clip_len, overlap=0)
    assert tracker.carry['clips'] == carry_clips
    assert tracker.weights == AUTHORS
    assert tracker.on_conflict == 'drop' and tracker.lost_iou


@pytest.mark.parametrize('kwargs,message', [
    (dict(new_track='dummy'), 'new_track'),
    (dict(new_track=dict(embed=0.5, cos=0.1)), 'new_track'),
    (dict(on_conflict='keep'), 'on_conflict'),
    (dict(carry=dict(clips=-1)), 'carry.clips'),
    (dict(iou_min_pixels=1.5), 'iou_min_pixels'),
    (dict(carry=dict(score_decay=0.0)), 'carry.score_decay'),
    (dict(carry=dict(box_scale=0.0)), 'carry.box_scale'),
    (dict(carry=dict(decay=0.5)), 'carry must be a dict with keys'),
    (dict(new_track='threshold'), 'tracker_merge_rate.py keeps it'),
])
def test_rejects_bad_new_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClipTracker(**kwargs)


# --------------------------------------------------------------------------
# matching score (Eq. 11)
# --------------------------------------------------------------------------
def test_match_score_by_hand():
    weights = dict(embed=1.0, mask_iou=2.0, box_iou=4.0, label=0.3, score=0.1)
    tracker = ClipTracker(
        clip_len=3, overlap=2, weights=weights, overlap_iou_scale=1.0)
    # clip 0: track 0 at [30,0,40,10] in frames 1, 2 (its saved frames);
    # track 1 far away
    tracker.track_clip(_dets([
            dict(boxes=[_box(30)] * 3, embed=[1.0, 0.0], label=2),
            dict(boxes=[_box(50)] * 3, embed=[0.0, 1.0], label=1),
        ]))
    # clip 1 = frames 1, 2, 3. In the overlap frames 1, 2 the object is at
    # [35,0,45,10] (IoU 50/150 with track 0) and [30,0,40,5] (IoU 50/100)
    dets = _dets([
        dict(
            boxes=[[35, 0, 45, 10], [30, 0, 40, 5], [30, 0, 40, 10]],
            embed=[0.6, 0.8],
            label=2,
            score=0.5)
    ])
    tracker.clip_index = 1  # track_clip advances it before scoring
    scores = tracker.get_match_score(dets, [0, 1])
    mean_iou = (1 / 3 + 1 / 2) / 2
    # track 0: cos 0.6 -> 0.8; same label; IoUs on the overlap frames
    expected0 = 0.8 + 2.0 * mean_iou + 4.0 * mean_iou + 0.3 + 0.1 * 0.5
    # track 1: cos 0.8 -> 0.9; other label; no overlap
    expected1 = 0.9 + 0.1 * 0.5
    torch.testing.assert_close(scores, torch.tensor([[expected0, expected1]]))


@pytest.mark.parametrize('lost_iou', [False, True])
def test_lost_track_iou_terms(lost_iou):
    tracker = ClipTracker(clip_len=3, overlap=1, lost_iou=lost_iou)
    tracker.track_clip(_dets([_static(0, A_EMB)]))
    tracker.track_clip(_dets([]))
    tracker.clip_index = 2
    # same place, same embedding and label, score 0.9: 1 + 0.3 + 0.09;
    # lost_iou: plus 2 x (0.5 + 0.5) x IoU 1 with its kept box and mask
    # (no render_masks: its last mask); else no IoU term as the track was
    # not detected in the previous clip
    scores = tracker.get_match_score(_dets([_static(0, A_EMB)]), [0])
    expected = 1.39 + (2.0 if lost_iou else 0.0)
    torch.testing.assert_close(scores, torch.tensor([[expected]]))


def test_mask_iou_by_hand():
    masks1 = torch.stack([_mask([0, 0, 10, 10]), _mask([0, 0, 0, 0])])
    masks2 = torch.stack([_mask([5, 0, 15, 10]), _mask([0, 0, 0, 0])])
    torch.testing.assert_close(
        mask_iou(masks1, masks2), torch.tensor([[1 / 3, 0.0], [0.0, 0.0]]))


# --------------------------------------------------------------------------
# the authors' rule: dummy column, doubled IoU weights, IoU frame flags
# --------------------------------------------------------------------------
BIG = [0, 0, 20, 20]  # 400 px: 0.156 of the 40 x 64 frame, not small


def test_match_score_and_dummy_column_by_hand():
    tracker = ClipTracker(clip_len=3, overlap=1)  # the authors' defaults
    tracker.track_clip(_dets([
            dict(boxes=[BIG] * 3, embed=A_EMB, label=0),
            dict(boxes=[[40, 0, 60, 20]] * 3, embed=B_EMB, label=1),
        ]))
    dets = _dets([
        # overlap frame: box IoU with track 0 = 300 / 500 = 0.6 (masks too)
        dict(boxes=[[5, 0, 25, 20]] * 3, embed=[0.6, 0.8], score=0.5),
        # small (10 x 10 = 0.039 of the frame), far from both
        dict(boxes=[[50, 30, 60, 40]] * 3, embed=A_EMB, label=1, score=0.8),
    ])
    tracker.clip_index = 1
    scores = tracker.get_match_score(dets, [0, 1])
    # cos mapped to [0, 1] + 0.1 score + 2 x (0.5 MIoU + 0.5 BIoU) + 0.3
    expected = [[0.8 + 0.05 + 2 * 0.6 + 0.3, 0.9 + 0.05],
                [1.0 + 0.08, 0.5 + 0.08 + 0.3]]
    torch.testing.assert_close(scores, torch.tensor(expected))
    # dummy: 0.5 + score term + 2 x (0.5 + 0.5) x 0.3 (0.15 small) + 0.3
    torch.testing.assert_close(
        tracker.get_new_track_score(dets),
        torch.tensor([0.5 + 0.05 + 0.6 + 0.3, 0.5 + 0.08 + 0.3 + 0.3]))
    # without shared frames the IoU weights are not doubled
    no_overlap = ClipTracker(clip_len=3, overlap=0)
    torch.testing.assert_close(
        no_overlap.get_new_track_score(dets),
        torch.tensor([0.5 + 0.05 + 0.3 + 0.3, 0.5 + 0.08 + 0.15 + 0.3]))
    # the threshold rule: the fixed match_thr
    torch.testing.assert_close(
        _threshold_tracker(match_thr=0.7).get_new_track_score(dets),
        torch.tensor([0.7, 0.7]))
    # det 0 beats its dummy on track 0 (2.35 > 1.45); det 1's best, track 0
    # (1.08), is below its dummy (1.18): a new track
    tracker.clip_index = 0
    out = tracker.track_clip(dets)
    assert _ids(out) == [0, 2]


def test_small_object_is_mean_width_times_mean_height():
    # widths 4, 36, 20 and heights 36, 4, 20: mean w x mean h = 400 px
    # (0.156, not small; the authors' rule) where the mean of w x h is
    # 229 px (0.089)
    boxes = [[0, 0, 4, 36], [0, 0, 36, 4], [0, 0, 20, 20]]
    dets = _dets([dict(boxes=boxes, embed=A_EMB, score=0.0)])
    torch.testing.assert_close(
        ClipTracker(overlap=0).get_new_track_score(dets),
        torch.tensor([0.5 + 0.3 + 0.3]))
    small = ClipTracker(overlap=0, new_track=dict(small_area=0.2))
    torch.testing.assert_close(
        small.get_new_track_score(dets), torch.tensor([0.5 + 0.15 + 0.3]))


@pytest.mark.parametrize('min_pixels', [3, 0])
def test_iou_over_overlap_frames_with_masks_of_3_pixels(min_pixels):
    tracker = ClipTracker(clip_len=3, overlap=2, iou_min_pixels=min_pixels)
    tracker.track_clip(_dets([dict(boxes=[BIG] * 3, embed=A_EMB)]))
    # overlap frames 1, 2: IoU 200 / 600, then a 2-pixel mask (IoU 2/400)
    dets = _dets([
        dict(boxes=[[10, 0, 30, 20], [0, 0, 2, 1], BIG], embed=A_EMB)
    ])
    tracker.clip_index = 1
    mask_ious, box_ious = tracker.get_ious(dets, [0])
    expected = 1 / 3 if min_pixels else (1 / 3 + 2 / 400) / 2
    torch.testing.assert_close(mask_ious, torch.tensor([[expected]]))
    torch.testing.assert_close(box_ious, torch.tensor([[expected]]))
    # no frame where both masks have 3 pixels: IoU 0
    empty = _dets([dict(boxes=[[0, 0, 2, 1]] * 3, embed=A_EMB)])
    mask_ious, box_ious = tracker.get_ious(empty, [0])
    expected = 0.0 if min_pixels else 2 / 400
    torch.testing.assert_close(mask_ious, torch.tensor([[expected]]))
    torch.testing.assert_close(box_ious, torch.tensor([[expected]]))


@pytest.mark.parametrize('cos', [0.4, 0.9])
def test_far_new_object_of_same_class_new_id_not_merged(cos):
    a = dict(boxes=[BIG] * 3, embed=A_EMB, label=0)
    c = dict(
        boxes=[[40, 20, 60, 40]] * 3,
        embed=[cos, (1 - cos**2)**0.5],
        label=0)
    ids = dict()
    for rule, tracker in [('authors', ClipTracker(clip_len=3, overlap=1)),
                          ('threshold',
                           _threshold_tracker(clip_len=3, overlap=1))]:
        tracker.track_clip(_dets([a]))
        # A vanishes, C appears far away (IoU 0)
        out = tracker.track_clip(_dets([c]))
        ids[rule] = _ids(out)
    # threshold: (cos + 1) / 2 + 0.3 + 0.09 = 1.09 (1.34) > 0.5: merged.
    # authors: below the dummy 0.5 + 0.3 + 0.09 + 2 x 1 x 0.3 = 1.49
    assert ids == dict(authors=[1], threshold=[0])


@pytest.mark.parametrize('on_conflict,ids,num_tracks', [('drop', [0], 1),
                                                        ('new', [1, 0], 2)])
def test_continuing_keeps_id_conflict_loser_dropped(on_conflict, ids,
                                                    num_tracks):
    tracker = ClipTracker(clip_len=3, overlap=1, on_conflict=on_conflict)
    tracker.track_clip(_dets([dict(boxes=[BIG] * 3, embed=A_EMB)]))
    # A moved 2 px (IoU 360 / 440): 1 + 0.09 + 0.3 + 2 x 0.818 = 3.03; a
    # duplicate 10 px off (IoU 1/3), listed first: 1 + 0.06 + 0.3 + 0.67 =
    # 2.03, above its dummy (1.46) but below A for track 0
    out = tracker.track_clip(_dets([
                                 dict(boxes=[[10, 0, 30, 20]] * 3,
                                      embed=A_EMB,
                                      score=0.6),
                                 dict(boxes=[[2, 0, 22, 20]] * 3,
                                      embed=A_EMB),
                             ]))
    assert _ids(out) == ids
    assert tracker.num_tracks == num_tracks  # no id consumed when dropped
    assert tracker.last_det_ids.tolist() == (
        [-1, 0] if on_conflict == 'drop' else [1, 0])
    assert out.bboxes[:, 0].tolist() == (
        [[2, 0, 22, 20]] if on_conflict == 'drop' else [[10, 0, 30, 20],
                                                        [2, 0, 22, 20]])
    assert tracker.tracks[0].last_frame_id == 1  # track 0 renewed


def test_assignment_conflict_rules_by_hand():
    scores = torch.tensor([[0.9, 0.1], [0.8, 0.7], [0.2, 0.3]])
    # greedy by best score: d0 takes t0; d1 wanted t0 too (loser; t1 at
    # 0.7 is not tried: the authors' rule); d2's best 0.3 < 0.5: new
    assert assign_detections_to_tracks(
        scores, 0.5, on_conflict='drop').tolist() == [0, DROPPED, NEW_TRACK]
    assert assign_detections_to_tracks(scores,
                                       0.5).tolist() == [0, -1, -1]
    assert assign_detections_to_tracks(
        scores, 0.5, method='hungarian',
        on_conflict='drop').tolist() == [0, 1, -1]
    with pytest.raises(ValueError, match='on_conflict'):
        assign_detections_to_tracks(scores, 0.5, on_conflict='keep')


# --------------------------------------------------------------------------
# carried tracks
# --------------------------------------------------------------------------
def _scaled(box, scale=1.2):
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    hw, hh = (x2 - x1) / 2, (y2 - y1) / 2
    return [cx - scale * hw, cy - scale * hh, cx + scale * hw, cy + scale * hh]


@pytest.mark.parametrize('clip_len,carry_clips', [(3, 5), (5, 3)])
def test_unmatched_track_carried_then_dropped(clip_len, carry_clips):
    # A moves 2 px a frame in clip 0, then vanishes; B stays
    a_boxes = [[10 + 2 * t, 10, 30 + 2 * t, 30] for t in range(clip_len)]
    b = dict(boxes=[[44, 0, 64, 20]] * clip_len, embed=B_EMB, params=[1, 1])
    render = BoxRenderer(clip_len)
    tracker = ClipTracker(clip_len=clip_len, overlap=1)
    first = dict(boxes=a_boxes, embed=A_EMB, label=2, params=[1, 0])
    tracker.track_clip(_dets([first, b], clip_len, params=True), render)
    last_box = a_boxes[-1]
    for k in range(1, carry_clips + 2):
        out = tracker.track_clip(_dets([b], clip_len, params=True),
                                 render)
        # A is rendered each clip (B, matched, is not): first by its
        # circumscribed box x 1.2, then by its last frame box x 1.2
        crop = _scaled([10, 10, 30 + 2 * (clip_len - 1), 30]) if k == 1 \
            else _scaled(last_box)
        params, boxes = render.calls[k - 1]
        assert params.tolist() == [[1, 0]]
        torch.testing.assert_close(boxes, torch.tensor([crop]))
        mask = _mask([max(0, round(v)) for v in crop])
        for result in (frame_of_clip(out, p) for p in range(clip_len)):
            if k <= carry_clips:
                assert _ids(result) == [1, 0]
                assert result.bboxes[1].tolist() == last_box
                assert torch.equal(result.masks[1], mask)
                assert result.labels.tolist() == [0, 2]
                assert result.scores[1].item() == pytest.approx(
                    0.9 * 0.9**(clip_len * k))
            else:
                assert _ids(result) == [1]
    # carried outputs do not renew the track
    assert tracker.tracks[0].last_frame_id == 0
    assert 0 in tracker.tracks  # still in memory (num_clips_retain=10)


@pytest.mark.parametrize('score,num_out', [(0.3, 3), (0.9, 5), (0.15, 1)])
def test_carried_until_decayed_score_below_threshold(score, num_out):
    # 0.3 x 0.9^9 = 0.116 > 0.1 > 0.3 x 0.9^12 = 0.085
    render = BoxRenderer()
    tracker = ClipTracker(clip_len=3, overlap=1)
    clips = _clips(15, 3, 1)
    tracker.track_clip(
        _dets([dict(boxes=[BIG] * 3, embed=A_EMB, score=score)],
              params=True), render)
    carried = []
    for frame_ids in clips[1:]:
        out = tracker.track_clip(_dets([], params=True), render)
        carried.append(len(out))
    assert carried == [1] * num_out + [0] * (len(clips) - 1 - num_out)


@pytest.mark.parametrize('pixels,output', [(3, False), (4, True),
                                           (0, False)])
def test_carried_mask_must_have_4_pixels(pixels, output):

    def render(params, boxes):
        masks = torch.zeros(len(params), 3, H, W, dtype=torch.bool)
        masks[:, 1, 0, :pixels] = True  # one frame only
        return masks

    tracker = ClipTracker(clip_len=3, overlap=1)
    tracker.track_clip(_dets([dict(boxes=[BIG] * 3, embed=A_EMB)],
                             params=True), render)
    out = tracker.track_clip(_dets([], params=True), render)
    assert _ids(out) == ([0] if output else [])


def test_no_carry_without_renderer_or_when_disabled():
    for kwargs, render in [(dict(), None),
                           (dict(carry=dict(clips=0)), BoxRenderer())]:
        tracker = ClipTracker(clip_len=3, overlap=1, **kwargs)
        tracker.track_clip(_dets([_static(0, A_EMB)]), render)
        out = tracker.track_clip(_dets([]), render)
        assert _ids(out) == []
        assert render is None or render.calls == []


def test_carried_track_matched_again_keeps_id():
    render = BoxRenderer()
    tracker = ClipTracker(clip_len=3, overlap=1)
    a = dict(boxes=[[10, 10, 30, 30]] * 3, embed=A_EMB, params=[1, 0])
    tracker.track_clip(_dets([a], params=True), render)
    out = tracker.track_clip(_dets([], params=True), render)
    assert _ids(out) == [0]  # carried
    # A is back: its IoU terms use its carried mask (rendered in clip 1 by
    # [8, 8, 32, 32]: 576 px, IoU 400 / 576) and its last box (IoU 1)
    back = _dets([a], params=True)
    tracker.clip_index = 2
    scores = tracker.get_match_score(back, [0])
    expected = 1 + 0.09 + 0.3 + 2 * (0.5 * 400 / 576 + 0.5)
    torch.testing.assert_close(scores, torch.tensor([[expected]]))
    tracker.clip_index = 1
    out = tracker.track_clip(back, render)
    assert _ids(out) == [0]  # not carried twice
    assert out.scores.tolist() == [pytest.approx(0.9)]
    assert tracker.num_tracks == 1
    assert tracker.tracks[0].last_frame_id == 2  # renewed in clip 2


def test_no_overlap_mask_iou_against_rendered_track_over_all_frames():
    render = BoxRenderer()
    tracker = ClipTracker(clip_len=3, overlap=0)
    a = dict(boxes=[[10, 10, 30, 30]] * 3, embed=A_EMB, params=[1, 0])
    tracker.track_clip(_dets([a], params=True), render)
    assert render.calls == []
    dets = _dets([
        dict(
            boxes=[[10, 10, 30, 30], [20, 10, 40, 30], [40, 0, 60, 20]],
            embed=A_EMB)
    ],
                 params=True)
    # rendered by [8, 8, 32, 32] in all 3 frames: IoUs 400/576, 240/736, 0
    rendered = _mask([8, 8, 32, 32]).expand(1, 3, H, W)
    tracker.clip_index = 1
    scores = tracker.get_match_score(dets, [0], rendered)
    mean_miou = (400 / 576 + 240 / 736 + 0) / 3
    # first frame vs the last box: IoU 1; IoU weights not doubled
    expected = 1 + 0.09 + 0.3 + 0.5 * mean_miou + 0.5 * 1
    torch.testing.assert_close(scores, torch.tensor([[expected]]))
    tracker.clip_index = 0
    out = tracker.track_clip(dets, render)
    # rendered before matching, for the IoU
    torch.testing.assert_close(render.calls[0][1],
                               torch.tensor([[8.0, 8.0, 32.0, 32.0]]))
    assert _ids(out) == [0]


@pytest.mark.parametrize('render', [BoxRenderer(), None])
def test_carried_states_with_two_overlap_frames(render):
    tracker = ClipTracker(clip_len=3, overlap=2)
    a_boxes = [[10, 10, 30, 30], [12, 10, 32, 30], [14, 10, 34, 30]]
    tracker.track_clip(_dets([dict(boxes=a_boxes, embed=A_EMB)], params=True),
                       render)
    tracker.track_clip(_dets([], params=True), render)
    states = tracker.tracks[0].states
    # its last box in both saved frames; its masks rendered by its
    # circumscribed box x 1.2 ([7.6, 8, 36.4, 32]), else its last mask
    assert states['bboxes'].tolist() == [a_boxes[2]] * 2
    mask = _mask([8, 8, 36, 32]) if render else _mask(a_boxes[2])
    assert torch.equal(states['masks'], mask.expand(2, H, W))


def test_render_fields_required_only_when_carrying():
    tracker = ClipTracker(clip_len=3, overlap=1)
    with pytest.raises(AssertionError, match="'params'"):
        tracker.track_clip(_dets([_static(0, A_EMB)]),
                           BoxRenderer())
    # carrying off: no params needed
    ClipTracker(carry=dict(clips=0)).track_clip(
        _dets([_static(0, A_EMB)]), BoxRenderer())


# --------------------------------------------------------------------------
# association across clips
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    'emb_a,emb_b',
    [
        (A_EMB, B_EMB),  # embeddings tell them apart
        ([1.0, 1.0], [1.0, 1.0]),  # look-alikes: the overlap IoUs do
    ])
def test_ids_carried_across_overlap_with_swapped_order(emb_a, emb_b):
    tracker = ClipTracker(clip_len=3, overlap=1)
    # A moves right 2 px a frame from x=0, B stays at x=40
    a_boxes = [_box(2 * f) for f in range(7)]
    out = tracker.track_clip(_dets([
                                 dict(boxes=a_boxes[0:3], embed=emb_a),
                                 dict(boxes=[_box(40)] * 3, embed=emb_b)
                             ]))
    assert _ids(out) == [0, 1]
    out = tracker.track_clip(_dets([
                                 dict(boxes=[_box(40)] * 3, embed=emb_b),
                                 dict(boxes=a_boxes[2:5], embed=emb_a)
                             ]))
    assert _ids(out) == [1, 0]
    out = tracker.track_clip(_dets([
                                 dict(boxes=a_boxes[4:7], embed=emb_a),
                                 dict(boxes=[_box(40)] * 3, embed=emb_b)
                             ]))
    assert _ids(out) == [0, 1]
    assert tracker.num_tracks == 2


def test_new_object_gets_new_id():
    tracker = ClipTracker(clip_len=3, overlap=1)
    tracker.track_clip(_dets([_static(0, A_EMB),
                              _static(20, B_EMB)]))
    # C: cos -0.707 with both (score 0.146 < 0.5), far from both
    out = tracker.track_clip(_dets([
                                 _static(20, B_EMB),
                                 _static(50, [-1.0, -1.0]),
                                 _static(0, A_EMB),
                             ]))
    assert _ids(out) == [1, 2, 0]
    assert tracker.num_tracks == 3


def test_other_object_in_place_below_threshold_is_new():
    # orthogonal embedding gives exactly 0.5: not above match_thr=0.5
    tracker = _threshold_tracker(
        clip_len=3,
        overlap=1,
        on_conflict='drop',
        overlap_iou_scale=2.0,
        iou_min_pixels=3,
        lost_iou=True,
        carry=dict(),
        weights=dict(
            embed=1.0, mask_iou=0.0, box_iou=0.0, label=0.0, score=0.0))
    tracker.track_clip(_dets([_static(0, A_EMB)]))
    out = tracker.track_clip(_dets([_static(0, B_EMB)]))
    assert _ids(out) == [1]


@pytest.mark.parametrize('emb_a,emb_b', [(A_EMB, B_EMB),
                                         ([1.0, 1.0], [1.0, 1.0])])
def test_no_overlap_uses_adjacent_frames(emb_a, emb_b):
    tracker = ClipTracker(clip_len=3, overlap=0)
    # A moves right 2 px a frame: its frame-3 box overlaps its frame-2 box
    # with IoU 80/120; B is still at x=40
    a_boxes = [_box(2 * f) for f in range(6)]
    out = tracker.track_clip(_dets([
                                 dict(boxes=a_boxes[0:3], embed=emb_a),
                                 dict(boxes=[_box(40)] * 3, embed=emb_b)
                             ]))
    assert _ids(out) == [0, 1]
    out = tracker.track_clip(_dets([
                                 dict(boxes=[_box(40)] * 3, embed=emb_b),
                                 dict(boxes=a_boxes[3:6], embed=emb_a)
                             ]))
    assert _ids(out) == [1, 0]
    if emb_a == emb_b:
        # look-alikes: the adjacent-frame IoUs decide (A's last box is
        # _box(10)): 1 + 0.3 + 0.09 + (0.5 + 0.5) * 80/120, not doubled
        tracker.clip_index = 2
        scores = tracker.get_match_score(
            _dets([dict(boxes=[_box(12)] * 3, embed=emb_a)]), [0, 1])
        torch.testing.assert_close(
            scores, torch.tensor([[1.39 + 80 / 120, 1.39]]))


# --------------------------------------------------------------------------
# output frames
# --------------------------------------------------------------------------
@pytest.mark.parametrize('overlap', [1, 0])
def test_video_shorter_than_clip(overlap):
    tracker = ClipTracker(clip_len=3, overlap=overlap)
    # the padded position 2 (frame 1 again) has another box: frame 1 must
    # come from its first occurrence, position 1
    dets = _dets([dict(boxes=[_box(0), _box(10), _box(30)], embed=A_EMB)])
    results = _video(tracker, [[0, 1, 1]], [dets])
    assert _frames(results) == [0, 1]
    results = dict(results)
    assert results[1].bboxes.tolist() == [_box(10)]
    assert torch.equal(results[1].masks[0], _mask(_box(10)))
    assert results[0].bboxes.tolist() == [_box(0)]


@pytest.mark.parametrize('clip_len,overlap', [(1, 0), (2, 1), (3, 0), (3, 1),
                                              (3, 2), (4, 3), (5, 2)])
def test_every_frame_once_in_order_from_latest_clip(clip_len, overlap):
    for num_frames in range(1, 11):
        clips = _clips(num_frames, clip_len, overlap)
        tracker = ClipTracker(clip_len=clip_len, overlap=overlap)
        # box at position p of clip k encodes (k, p)
        dets = [
            _dets([dict(boxes=[[k, p, k + 10, p + 10]
                               for p in range(clip_len)], embed=A_EMB)],
                  clip_len=clip_len) for k in range(len(clips))
        ]
        outputs = _video(tracker, clips, dets)
        assert _frames(outputs) == list(range(num_frames))
        for frame_id, result in outputs:
            # the latest clip covering the frame, first position in it
            k = max(i for i, c in enumerate(clips) if frame_id in c)
            p = clips[k].index(frame_id)
            assert result.bboxes[0, :2].tolist() == [k, p]
            assert _ids(result) == [0]


def test_overlapping_frame_written_from_later_clip():
    tracker = ClipTracker(clip_len=3, overlap=1)
    first = _dets([dict(boxes=[_box(0), _box(0), _box(0)], embed=A_EMB)])
    # frame 2: the later clip sees the object 4 px to the right
    second = _dets([dict(boxes=[_box(4), _box(6), _box(8)], embed=A_EMB)])
    results = _video(tracker, [[0, 1, 2], [2, 3, 4]], [first, second])
    assert _frames(results) == [0, 1, 2, 3, 4]
    frame2 = results[2][1]
    assert torch.equal(frame2.masks[0], _mask(_box(4)))
    assert frame2.masks[0, 5, 2].item() is False  # inside the earlier mask
    assert frame2.masks[0, 5, 12].item() is True  # only in the later one
    assert frame2.masks.dtype == torch.bool
    assert frame2.masks.shape == (1, H, W)


def test_empty_clip_outputs_empty_instances():
    tracker = ClipTracker(clip_len=3, overlap=1)
    out = tracker.track_clip(_dets([]))
    assert out.bboxes.shape == (0, 3, 4) and out.masks.shape == (0, 3, H, W)
    for result in (frame_of_clip(out, 0), frame_of_clip(out, 2, copy=True)):
        assert len(result) == 0
        assert result.bboxes.shape == (0, 4)
        assert result.masks.shape == (0, H, W)
        assert result.masks.dtype == torch.bool
        assert result.labels.shape == (0, )
        assert result.scores.shape == (0, )
        assert result.instances_id.shape == (0, )
        assert result.instances_id.dtype == torch.long


# --------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------
@pytest.mark.parametrize('return_clip,keeps_id', [(1, True), (2, True),
                                                  (3, True), (4, False),
                                                  (6, False)])
def test_lost_track_retained_for_num_clips_retain(return_clip, keeps_id):
    # seen in clip 0; with num_clips_retain=3 it can be matched up to clip
    # 0 + 3 and is forgotten after clip 3. B is always there.
    tracker = ClipTracker(clip_len=3, overlap=1, num_clips_retain=3)
    b_obj = _static(40, B_EMB)
    out = tracker.track_clip(_dets([_static(0, A_EMB), b_obj]))
    assert _ids(out) == [0, 1]
    for c in range(1, return_clip):
        tracker.track_clip(_dets([b_obj]))
        assert (0 in tracker.tracks) == (c < 3)
    out = tracker.track_clip(_dets([_static(0, A_EMB), b_obj]))
    assert _ids(out) == ([0, 1] if keeps_id else [2, 1])
    assert set(tracker.tracks) == ({0, 1} if keeps_id else {1, 2})


def test_label_flips_keep_the_track_and_pass_clip_labels_on():
    tracker = ClipTracker(clip_len=3, overlap=1)
    for lab, score in zip([2, 5, 2, 5, 5], [0.9, 0.8, 0.5, 0.7, 0.6]):
        out = tracker.track_clip(
            _dets([_static(0, A_EMB, label=lab, score=score)]))
        # the outputs keep the clip's own label and score
        assert _ids(out) == [0]
        assert out.labels.tolist() == [lab]
        assert out.scores.tolist() == [pytest.approx(score)]
        assert tracker.tracks[0].last_label == lab


def test_memory_bounded_over_200_clips():
    # object k lives in clips [3k, 3k + 5): at most two at a time; one-hot
    # embeddings (64 dims) keep live objects apart, positions too
    dim, clip_len, overlap, retain = 64, 3, 1, 10
    tracker = ClipTracker(
        clip_len=clip_len, overlap=overlap, num_clips_retain=retain)
    clips = _clips(2 * 200 + 1, clip_len, overlap)[:200]
    saved_bytes = tracker.num_saved_frames * (H * W + 4 * 4)
    max_objects = 2
    clips_per_id = Counter()
    schedule = ClipSchedule(clip_len, overlap)
    for c, frame_ids in enumerate(clips):
        live = [k for k in range(c // 3 + 1) if 3 * k <= c < 3 * k + 5]
        objs = []
        for k in live:
            embed = [0.0] * dim
            embed[k % dim] = 1.0
            objs.append(_static((k % 5) * 12, embed))
        out = tracker.track_clip(_dets(objs, dim=dim))
        assert _ids(out) == live  # object k keeps id k throughout
        schedule.final_frames(frame_ids,
                              lambda p, copy: frame_of_clip(out, p, copy))
        clips_per_id.update(_ids(out))

        assert len(tracker.tracks) <= (5 + retain) // 3 + 1
        assert len(schedule.held) == overlap
        for record in tracker.tracks.values():
            states = record.states
            assert states['masks'].shape == (tracker.num_saved_frames, H, W)
            assert states['bboxes'].shape == (tracker.num_saved_frames, 4)
            assert states['embeddings'].shape == (dim, )
            # views of one clip's saved tensors at most, never the whole
            # clip's (N, T, H, W) masks
            for key in ('masks', 'bboxes'):
                assert states[key].untyped_storage().nbytes() <= \
                    max_objects * saved_bytes
        for _, held in schedule.held:
            assert held.masks.untyped_storage().nbytes() <= max_objects * H * W
    assert tracker.num_tracks == 200 // 3 + 1
    assert set(clips_per_id) == set(range(tracker.num_tracks))
    ended = set(clips_per_id) - set(tracker.tracks)
    assert ended and all(clips_per_id[i] == 5 for i in ended)


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------
def test_bad_clip_inputs():
    tracker = ClipTracker(clip_len=3, overlap=1)
    dets = _dets([_static(0, A_EMB)])
    tracker.track_clip(dets)
    bad = dets.clone()
    bad.masks = bad.masks.float()
    with pytest.raises(AssertionError, match='float'):
        tracker.track_clip(bad)
    bad = InstanceData(**{k: v for k, v in dets.items() if k != 'masks'})
    with pytest.raises(AssertionError, match="'masks'"):
        tracker.track_clip(bad)
    bad = dets.clone()
    bad.bboxes = bad.bboxes[:, :2]
    with pytest.raises(AssertionError, match=r"'bboxes': \(1, 2, 4\)"):
        tracker.track_clip(bad)
    # the failed calls changed nothing
    out = tracker.track_clip(dets)
    assert tracker.clip_index == 1 and _ids(out) == [0]


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_mask_iou_exact_under_autocast(dtype):
    """120000 and 105000 pixels: float16 overflows (the IoU would be 0),
    bfloat16 rounds the counts; the IoU is 0.875 exactly either way."""
    a = torch.zeros(1, 300, 400, dtype=torch.bool)
    a[0, :, :350] = True
    b = torch.ones(1, 300, 400, dtype=torch.bool)
    with torch.autocast('cpu', dtype=dtype):
        iou = mask_iou(a, b)
    assert iou.dtype == torch.float32 and iou.item() == 0.875


def test_former_carry_arguments_still_work_with_a_warning():
    with pytest.warns(FutureWarning, match=r'carry_score_thr= is deprecated'
                      r'.*carry=dict\(score_thr=\.\.\.\)'):
        tracker = ClipTracker(carry_score_thr=0.3, carry=dict(clips=2))
    assert tracker.carry == dict(
        clips=2, score_decay=0.9, score_thr=0.3, min_pixels=4, box_scale=1.2)
    with pytest.raises(ValueError) as err:
        ClipTracker(carry_speed=1)
    assert str(err.value) == ('ClipTracker takes no carry_speed (did you '
                              'mean carry?); the carrying settings are '
                              'carry=dict(...)')
    with pytest.raises(ValueError) as err:
        ClipTracker(overlapp=1)
    assert str(err.value) == ('ClipTracker takes no overlapp (did you mean '
                              'overlap?); the carrying settings are '
                              'carry=dict(...)')
