"""ClipTracker (CiCo's clip-level tracker) and the clip schedule.

Scripted clips: objects are axis-aligned squares whose masks fill their
boxes, so box and mask IoUs are worked out by hand from the positions;
expected ids, scores and output frames come from the scenarios, not from
the tracker's code.
"""
import itertools

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmvis_clip  # noqa: F401
from mmvis_clip.models.trackers.clip_tracker import ClipTracker, mask_iou
from mmvis_clip.models.utils.clip_schedule import clip_starts

H, W = 40, 64


def _mask(box):
    mask = torch.zeros(H, W, dtype=torch.bool)
    x1, y1, x2, y2 = [int(v) for v in box]
    mask[y1:y2, x1:x2] = True
    return mask


def _box(x, y=0, size=10):
    return [x, y, x + size, y + size]


def _dets(objs, clip_len=3, dim=2):
    """Detections of one clip.

    Args:
        objs (list[dict]): ``boxes`` (clip_len boxes, one per frame),
            ``embed``, optional ``label`` (0) and ``score`` (0.9).
    """
    num = len(objs)
    boxes = torch.tensor([o['boxes'] for o in objs],
                         dtype=torch.float32).view(num, clip_len, 4)
    masks = torch.zeros(num, clip_len, H, W, dtype=torch.bool)
    for i, o in enumerate(objs):
        for t, box in enumerate(o['boxes']):
            masks[i, t] = _mask(box)
    return InstanceData(
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


A_EMB, B_EMB = [1.0, 0.0], [0.0, 1.0]


# --------------------------------------------------------------------------
# clip_starts
# --------------------------------------------------------------------------
@pytest.mark.parametrize('num_frames,clip_len,overlap,expected', [
    (5, 3, 1, [[0, 1, 2], [2, 3, 4]]),
    (6, 3, 1, [[0, 1, 2], [2, 3, 4], [4, 5, 5]]),
    (2, 3, 1, [[0, 1, 1]]),
    (1, 3, 0, [[0, 0, 0]]),
    (3, 3, 1, [[0, 1, 2]]),
    (7, 3, 0, [[0, 1, 2], [3, 4, 5], [6, 6, 6]]),
    (4, 3, 2, [[0, 1, 2], [1, 2, 3]]),
    (3, 1, 0, [[0], [1], [2]]),
    (6, 5, 2, [[0, 1, 2, 3, 4], [3, 4, 5, 5, 5]]),
])
def test_clip_starts_by_hand(num_frames, clip_len, overlap, expected):
    assert clip_starts(num_frames, clip_len, overlap) == expected


@pytest.mark.parametrize('clip_len,overlap', [(1, 0), (2, 1), (3, 0), (3, 1),
                                              (3, 2), (5, 2)])
def test_clip_starts_properties(clip_len, overlap):
    for num_frames in range(1, 15):
        clips = clip_starts(num_frames, clip_len, overlap)
        assert all(len(c) == clip_len for c in clips)
        assert sorted(set(itertools.chain(*clips))) == list(range(num_frames))
        for prev, cur in zip(clips, clips[1:]):
            assert cur[0] == prev[0] + clip_len - overlap
            assert prev[-1] < num_frames - 1  # no clip after the last frame
        assert clips[-1][-1] == num_frames - 1


@pytest.mark.parametrize('args', [(0, 3, 1), (5, 0, 0), (5, 3, 3), (5, 3, -1)])
def test_clip_starts_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        clip_starts(*args)


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
            match_thr=0.7,
            num_clips_retain=4,
            momentums=dict(embeddings=0.5),
            assignment='hungarian'))
    assert isinstance(tracker, ClipTracker)
    assert (tracker.clip_len, tracker.overlap) == (5, 2)
    assert tracker.weights == weights
    assert tracker.match_thr == 0.7
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


# --------------------------------------------------------------------------
# matching score (Eq. 11)
# --------------------------------------------------------------------------
def test_match_score_by_hand():
    weights = dict(embed=1.0, mask_iou=2.0, box_iou=4.0, label=0.3, score=0.1)
    tracker = ClipTracker(clip_len=3, overlap=2, weights=weights)
    # clip 0: track 0 at [30,0,40,10] in frames 1, 2 (its saved frames);
    # track 1 far away
    tracker.track_clip(
        [0, 1, 2],
        _dets([
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


def test_lost_track_is_matched_on_embedding_only():
    tracker = ClipTracker(clip_len=3, overlap=1)
    tracker.track_clip([0, 1, 2], _dets([_static(0, A_EMB)]))
    tracker.track_clip([2, 3, 4], _dets([]))
    tracker.clip_index = 2
    # same place, same embedding: 1.0 from the embedding, no IoU terms as
    # the track was not seen in the previous clip
    scores = tracker.get_match_score(_dets([_static(0, A_EMB)]), [0])
    torch.testing.assert_close(scores, torch.tensor([[1.0]]))


def test_mask_iou_by_hand():
    masks1 = torch.stack([_mask([0, 0, 10, 10]), _mask([0, 0, 0, 0])])
    masks2 = torch.stack([_mask([5, 0, 15, 10]), _mask([0, 0, 0, 0])])
    torch.testing.assert_close(
        mask_iou(masks1, masks2), torch.tensor([[1 / 3, 0.0], [0.0, 0.0]]))


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
    out = tracker.track_clip([0, 1, 2],
                             _dets([
                                 dict(boxes=a_boxes[0:3], embed=emb_a),
                                 dict(boxes=[_box(40)] * 3, embed=emb_b)
                             ]))
    assert _frames(out) == [0, 1]
    assert [_ids(r) for _, r in out] == [[0, 1], [0, 1]]
    out = tracker.track_clip([2, 3, 4],
                             _dets([
                                 dict(boxes=[_box(40)] * 3, embed=emb_b),
                                 dict(boxes=a_boxes[2:5], embed=emb_a)
                             ]))
    assert _frames(out) == [2, 3]
    assert [_ids(r) for _, r in out] == [[1, 0], [1, 0]]
    out = tracker.track_clip([4, 5, 6],
                             _dets([
                                 dict(boxes=a_boxes[4:7], embed=emb_a),
                                 dict(boxes=[_box(40)] * 3, embed=emb_b)
                             ]))
    assert [_ids(r) for _, r in out] == [[0, 1], [0, 1]]
    (frame_id, last), = tracker.flush()
    assert frame_id == 6 and _ids(last) == [0, 1]
    assert tracker.num_tracks == 2


def test_new_object_gets_new_id():
    tracker = ClipTracker(clip_len=3, overlap=1)
    tracker.track_clip([0, 1, 2],
                       _dets([_static(0, A_EMB),
                              _static(20, B_EMB)]))
    # C: cos -0.707 with both (score 0.146 < 0.5), far from both
    out = tracker.track_clip([2, 3, 4],
                             _dets([
                                 _static(20, B_EMB),
                                 _static(50, [-1.0, -1.0]),
                                 _static(0, A_EMB),
                             ]))
    assert _ids(out[0][1]) == [1, 2, 0]
    assert tracker.num_tracks == 3


def test_other_object_in_place_below_threshold_is_new():
    # orthogonal embedding gives exactly 0.5: not above match_thr=0.5
    tracker = ClipTracker(
        clip_len=3,
        overlap=1,
        weights=dict(
            embed=1.0, mask_iou=0.0, box_iou=0.0, label=0.0, score=0.0))
    tracker.track_clip([0, 1, 2], _dets([_static(0, A_EMB)]))
    out = tracker.track_clip([2, 3, 4], _dets([_static(0, B_EMB)]))
    assert _ids(out[0][1]) == [1]


@pytest.mark.parametrize('emb_a,emb_b', [(A_EMB, B_EMB),
                                         ([1.0, 1.0], [1.0, 1.0])])
def test_no_overlap_uses_adjacent_frames(emb_a, emb_b):
    tracker = ClipTracker(clip_len=3, overlap=0)
    # A moves right 2 px a frame: its frame-3 box overlaps its frame-2 box
    # with IoU 80/120; B is still at x=40
    a_boxes = [_box(2 * f) for f in range(6)]
    out = tracker.track_clip([0, 1, 2],
                             _dets([
                                 dict(boxes=a_boxes[0:3], embed=emb_a),
                                 dict(boxes=[_box(40)] * 3, embed=emb_b)
                             ]))
    assert _frames(out) == [0, 1, 2]  # nothing held back
    out = tracker.track_clip([3, 4, 5],
                             _dets([
                                 dict(boxes=[_box(40)] * 3, embed=emb_b),
                                 dict(boxes=a_boxes[3:6], embed=emb_a)
                             ]))
    assert _frames(out) == [3, 4, 5]
    assert [_ids(r) for _, r in out] == [[1, 0]] * 3
    assert tracker.flush() == []
    if emb_a == emb_b:
        # look-alikes: the adjacent-frame IoUs decide, 1 + 2 * 80/120
        tracker.clip_index = 2
        scores = tracker.get_match_score(
            _dets([dict(boxes=[_box(12)] * 3, embed=emb_a)]), [0, 1])
        torch.testing.assert_close(scores,
                                   torch.tensor([[1 + 2 * 80 / 120, 1.0]]))


# --------------------------------------------------------------------------
# output frames
# --------------------------------------------------------------------------
@pytest.mark.parametrize('overlap,now,flushed', [(1, [0], [1]),
                                                 (0, [0, 1], [])])
def test_video_shorter_than_clip(overlap, now, flushed):
    tracker = ClipTracker(clip_len=3, overlap=overlap)
    # the padded position 2 (frame 1 again) has another box: frame 1 must
    # come from its first occurrence, position 1
    dets = _dets([dict(boxes=[_box(0), _box(10), _box(30)], embed=A_EMB)])
    out = tracker.track_clip([0, 1, 1], dets)
    rest = tracker.flush()
    assert _frames(out) == now and _frames(rest) == flushed
    results = dict(out + rest)
    assert sorted(results) == [0, 1]
    assert results[1].bboxes.tolist() == [_box(10)]
    assert torch.equal(results[1].masks[0], _mask(_box(10)))
    assert results[0].bboxes.tolist() == [_box(0)]
    # the padded clip ends the video
    with pytest.raises(ValueError, match='reset'):
        tracker.track_clip([1, 2, 3], dets)
    tracker.reset()
    out = tracker.track_clip([0, 1, 2], dets)
    assert _frames(out) == ([0, 1] if overlap else [0, 1, 2])


@pytest.mark.parametrize('clip_len,overlap', [(1, 0), (2, 1), (3, 0), (3, 1),
                                              (3, 2), (4, 3), (5, 2)])
def test_every_frame_once_in_order_from_latest_clip(clip_len, overlap):
    for num_frames in range(1, 11):
        clips = clip_starts(num_frames, clip_len, overlap)
        tracker = ClipTracker(clip_len=clip_len, overlap=overlap)
        outputs = []
        for k, frame_ids in enumerate(clips):
            # box at position p encodes (clip k, position p)
            boxes = [[k, p, k + 10, p + 10] for p in range(clip_len)]
            outputs += tracker.track_clip(
                frame_ids,
                _dets([dict(boxes=boxes, embed=A_EMB)], clip_len=clip_len))
        outputs += tracker.flush()
        assert _frames(outputs) == list(range(num_frames))
        for frame_id, result in outputs:
            # the latest clip covering the frame, first position in it
            k = max(i for i, c in enumerate(clips) if frame_id in c)
            p = clips[k].index(frame_id)
            assert result.bboxes[0, :2].tolist() == [k, p]
            assert _ids(result) == [0]


def test_overlapping_frame_written_from_later_clip():
    tracker = ClipTracker(clip_len=3, overlap=1)
    first = tracker.track_clip(
        [0, 1, 2],
        _dets([dict(boxes=[_box(0), _box(0), _box(0)], embed=A_EMB)]))
    # frame 2: the later clip sees the object 4 px to the right
    second = tracker.track_clip(
        [2, 3, 4],
        _dets([dict(boxes=[_box(4), _box(6), _box(8)], embed=A_EMB)]))
    assert _frames(first) == [0, 1] and _frames(second) == [2, 3]
    frame2 = second[0][1]
    assert torch.equal(frame2.masks[0], _mask(_box(4)))
    assert frame2.masks[0, 5, 2].item() is False  # inside the earlier mask
    assert frame2.masks[0, 5, 12].item() is True  # only in the later one
    assert frame2.masks.dtype == torch.bool
    assert frame2.masks.shape == (1, H, W)


def test_empty_clip_outputs_empty_instances():
    tracker = ClipTracker(clip_len=3, overlap=1)
    out = tracker.track_clip([0, 1, 2], _dets([]))
    assert _frames(out) == [0, 1]
    for _, result in out:
        assert len(result) == 0
        assert result.bboxes.shape == (0, 4)
        assert result.masks.shape == (0, H, W)
        assert result.masks.dtype == torch.bool
        assert result.labels.shape == (0, )
        assert result.scores.shape == (0, )
        assert result.instances_id.shape == (0, )
        assert result.instances_id.dtype == torch.long
    assert tracker.flush()[0][1].bboxes.shape == (0, 4)


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
    clips = clip_starts(2 * (return_clip + 1) + 1, 3, 1)
    out = tracker.track_clip(clips[0], _dets([_static(0, A_EMB), b_obj]))
    assert _ids(out[0][1]) == [0, 1]
    for c in range(1, return_clip):
        tracker.track_clip(clips[c], _dets([b_obj]))
        assert (0 in tracker.tracks) == (c < 3)
    out = tracker.track_clip(clips[return_clip],
                             _dets([_static(0, A_EMB), b_obj]))
    assert _ids(out[0][1]) == ([0, 1] if keeps_id else [2, 1])
    summaries = tracker.track_summaries()
    assert summaries[1].num_frames == return_clip + 1
    if keeps_id:
        assert summaries[0].num_frames == 2
    else:
        assert summaries[0].num_frames == 1 and 0 in \
            tracker.finished_summaries


@pytest.mark.parametrize(
    'labels,scores,label',
    [
        ([2, 5, 2, 5, 5], [0.9, 0.8, 0.5, 0.7, 0.6], 5),
        ([3, 1, 3, 1], [0.2, 0.4, 0.6, 0.8], 1),  # tie -> smallest
    ])
def test_majority_vote_and_mean_score_over_clips(labels, scores, label):
    tracker = ClipTracker(clip_len=3, overlap=1)
    clips = clip_starts(2 * len(labels) + 1, 3, 1)
    for frame_ids, lab, score in zip(clips, labels, scores):
        out = tracker.track_clip(
            frame_ids, _dets([_static(0, A_EMB, label=lab, score=score)]))
        # the per-frame outputs keep the clip's own label and score
        assert out[0][1].labels.tolist() == [lab]
    summary = tracker.track_summaries()[0]
    assert summary.label == label
    assert summary.score == pytest.approx(sum(scores) / len(scores))
    assert summary.num_frames == len(labels)  # one vote per clip
    assert list(tracker.track_summaries()) == [0]


def test_memory_bounded_over_200_clips():
    # object k lives in clips [3k, 3k + 5): at most two at a time; one-hot
    # embeddings (64 dims) keep live objects apart, positions too
    dim, clip_len, overlap, retain = 64, 3, 1, 10
    tracker = ClipTracker(
        clip_len=clip_len, overlap=overlap, num_clips_retain=retain)
    clips = clip_starts(2 * 200 + 1, clip_len, overlap)[:200]
    saved_bytes = tracker.num_saved_frames * (H * W + 4 * 4)
    max_objects = 2
    all_finished = {}
    for c, frame_ids in enumerate(clips):
        live = [k for k in range(c // 3 + 1) if 3 * k <= c < 3 * k + 5]
        objs = []
        for k in live:
            embed = [0.0] * dim
            embed[k % dim] = 1.0
            objs.append(_static((k % 5) * 12, embed))
        out = tracker.track_clip(frame_ids, _dets(objs, dim=dim))
        assert _ids(out[0][1]) == live  # object k keeps id k throughout
        all_finished.update(tracker.pop_finished_summaries())

        assert len(tracker.tracks) <= (5 + retain) // 3 + 1
        assert len(tracker.held) == overlap
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
            assert len(record.label_votes) == 1
        for _, held in tracker.held:
            assert held.masks.untyped_storage().nbytes() <= max_objects * H * W
    assert tracker.num_tracks == 200 // 3 + 1
    ids = set(all_finished) | set(tracker.tracks)
    assert ids == set(range(tracker.num_tracks))
    assert all(s.num_frames == 5 for i, s in all_finished.items())


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------
def test_bad_clip_inputs():
    tracker = ClipTracker(clip_len=3, overlap=1)
    dets = _dets([_static(0, A_EMB)])
    with pytest.raises(ValueError, match='expected clip_len=3'):
        tracker.track_clip([0, 1], dets)
    with pytest.raises(ValueError, match='must increase'):
        tracker.track_clip([0, 0, 1], dets)
    with pytest.raises(ValueError, match='must increase'):
        tracker.track_clip([2, 1, 3], dets)
    tracker.track_clip([0, 1, 2], dets)
    with pytest.raises(ValueError, match='last 1 frames'):
        tracker.track_clip([3, 4, 5], dets)
    bad = dets.clone()
    bad.masks = bad.masks.float()
    with pytest.raises(TypeError, match='bool'):
        tracker.track_clip([2, 3, 4], bad)
    bad = InstanceData(**{k: v for k, v in dets.items() if k != 'masks'})
    with pytest.raises(KeyError, match="'masks'"):
        tracker.track_clip([2, 3, 4], bad)
    bad = dets.clone()
    bad.bboxes = bad.bboxes[:, :2]
    with pytest.raises(ValueError, match=r'bboxes \(N, T=3, 4\)'):
        tracker.track_clip([2, 3, 4], bad)
    # the failed calls changed nothing
    out = tracker.track_clip([2, 3, 4], dets)
    assert _frames(out) == [2, 3] and _ids(out[0][1]) == [0]
    tracker.flush()
    with pytest.raises(ValueError, match='reset'):
        tracker.track_clip([4, 5, 6], dets)

    no_overlap = ClipTracker(clip_len=3, overlap=0)
    no_overlap.track_clip([0, 1, 2], dets)
    with pytest.raises(ValueError, match='start after'):
        no_overlap.track_clip([2, 3, 4], dets)
