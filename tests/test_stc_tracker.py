"""STCTracker and the shared VIS tracker memory, on scripted detections.

Expected ids are worked out by hand from the scenarios (box positions,
embeddings, labels), not from the tracker's formulas.
"""
from collections import Counter

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

import mmvis_clip  # noqa: F401
from mmvis_clip.models.trackers import (STCTracker, TrackRecord,
                                        assign_detections_to_tracks)

INF = float('inf')


def _frame(frame_id, boxes, labels, scores, embeds):
    """A frame's detections as the detector head hands them over."""
    sample = DetDataSample(metainfo=dict(frame_id=frame_id))
    sample.pred_instances = InstanceData(
        bboxes=torch.as_tensor(boxes, dtype=torch.float32).view(-1, 4),
        labels=torch.as_tensor(labels, dtype=torch.long),
        scores=torch.as_tensor(scores, dtype=torch.float32),
        embeddings=torch.as_tensor(embeds, dtype=torch.float32))
    return sample


def _empty(frame_id, dim=2):
    return _frame(frame_id, [], [], [], torch.zeros(0, dim))


def _ids(out):
    return out.instances_id.tolist()


def _box(x, y=0, size=30):
    return [x, y, x + size, y + size]


def test_built_from_registry_with_config_keys():
    tracker = MODELS.build(
        dict(
            type='STCTracker',
            num_frames_retain=7,
            match_weights=dict(det_score=0.5, iou=1.0, det_label=3.0),
            momentums=dict(embeddings=0.25),
            assignment='hungarian'))
    assert isinstance(tracker, STCTracker)
    assert tracker.num_frames_retain == 7
    assert tracker.match_weights == dict(det_score=0.5, iou=1.0, det_label=3.0)
    assert tracker.momentums == dict(embeddings=0.25)
    assert tracker.assignment == 'hungarian'


@pytest.mark.parametrize(
    'embed_a,embed_b,expected_frame2',
    [
        ([4.0, 0.0], [0.0, 4.0], [0, 1]),  # distinct embeddings: ids kept
        ([1.0, 1.0], [1.0, 1.0], [1, 0]),  # same embeddings: IoU swaps them
    ])
def test_crossing_lookalikes(embed_a, embed_b, expected_frame2):
    # Same label, 30 px boxes. A moves right by 20 px a frame, B left.
    # Frame 2: A=[40,70] overlaps B's last box [30,60] by 20/40 = 0.5 but
    # its own last box [20,50] only by 10/50 = 0.2 (and symmetrically), so
    # IoU alone swaps the ids; the embeddings (dot 16 vs 0) keep them.
    tracker = STCTracker()
    xs_a, xs_b = [0, 20, 40, 60], [50, 30, 10, -10]
    outs = []
    for f in range(4):
        outs.append(
            tracker.track(
                _frame(f, [_box(xs_a[f]), _box(xs_b[f])], [0, 0], [0.9, 0.9],
                       [embed_a, embed_b])))
    assert _ids(outs[0]) == [0, 1]
    assert _ids(outs[1]) == [0, 1]
    assert _ids(outs[2]) == expected_frame2
    if expected_frame2 == [0, 1]:
        # detection order does not matter
        out = tracker.track(
            _frame(4, [_box(-30), _box(80)], [0, 0], [0.9, 0.9],
                   [embed_b, embed_a]))
        assert _ids(out) == [1, 0]
    assert tracker.num_tracks == 2


@pytest.mark.parametrize('with_other', [False, True])
@pytest.mark.parametrize('return_frame,keeps_id', [(1, True), (3, True),
                                                   (4, False), (6, False)])
def test_lost_track_retained_for_num_frames_retain(with_other, return_frame,
                                                   keeps_id):
    # Seen at frame 0; with num_frames_retain=3 it can be matched up to
    # frame 0 + 3 and is dropped after frame 3.
    tracker = STCTracker(num_frames_retain=3)
    other = ([_box(200)], [1], [0.8], [[0.0, 5.0]])

    def frame(f, present):
        boxes, labels, scores, embeds = ([], [], [], []) \
            if not with_other else [list(v) for v in other]
        if present:
            boxes.append(_box(0))
            labels.append(0)
            scores.append(0.9)
            embeds.append([5.0, 0.0])
        return _frame(f, boxes, labels, scores,
                      torch.tensor(embeds).view(len(labels), 2))

    first = _ids(tracker.track(frame(0, True)))
    track_id = first[-1]
    for f in range(1, return_frame):
        tracker.track(frame(f, False))
        assert (track_id in tracker.tracks) == (f < 3)
    back = _ids(tracker.track(frame(return_frame, True)))
    assert (back[-1] == track_id) == keeps_id
    if with_other:
        assert back[0] == first[0]  # the other object kept its id
    if not keeps_id:
        assert back[-1] == (2 if with_other else 1)  # the next new id


@pytest.mark.parametrize('label,same_id', [(0, True), (3, False)])
def test_other_category_in_same_place_does_not_take_track(label, same_id):
    # Same box (IoU 1) and embedding (dot 4 vs the dummy's 0): a same-label
    # detection continues the track; another label loses the label bonus
    # (10) that the "new" option keeps, and starts a new track.
    tracker = STCTracker()
    tracker.track(_frame(0, [_box(10)], [0], [0.9], [[2.0, 0.0]]))
    out = tracker.track(_frame(1, [_box(10)], [label], [0.9], [[2.0, 0.0]]))
    assert _ids(out) == ([0] if same_id else [1])


def test_label_flips_keep_the_track_and_pass_per_frame_labels_on():
    # A very distinctive embedding (dot 100) and a still box keep the track
    # through the label flips; each frame's output has its own label.
    tracker = STCTracker()
    for f, (lab, sc) in enumerate(zip([2, 2, 5, 2, 5],
                                      [0.9, 0.8, 0.5, 0.7, 0.6])):
        out = tracker.track(_frame(f, [_box(5)], [lab], [sc], [[10.0, 0]]))
        assert _ids(out) == [0]
        assert out.labels.tolist() == [lab]
        assert out.scores.tolist() == [pytest.approx(sc)]
        assert tracker.tracks[0].last_label == lab


def test_memory_bounded_over_1000_frames():
    # P (label 0, left) lives all video long; a transient object (label 1,
    # right) appears at every frame f % 10 == 0 for 3 frames. With
    # num_frames_retain=5 the memory holds exactly the ids seen in the last
    # 5 frames.
    retain, num_frames = 5, 1000
    tracker = STCTracker(num_frames_retain=retain)
    seen = []
    snapshot = None
    for f in range(num_frames):
        boxes, labels, scores, embeds = [_box(0)], [0], [0.9], [[9., 0.]]
        if f % 10 < 3:
            boxes.append(_box(300))
            labels.append(1)
            scores.append(0.6)
            embeds.append([0., 9.])
        out = tracker.track(_frame(f, boxes, labels, scores, embeds))
        seen.append(set(_ids(out)))
        alive = set().union(*seen[-retain:])
        assert set(tracker.tracks) == alive
        assert len(tracker.tracks) <= 2
        record = tracker.tracks[0]
        if f == 10:
            snapshot = _record_layout(record)
        elif f > 10:
            assert _record_layout(record) == snapshot
    record = tracker.tracks[0]
    assert isinstance(record, TrackRecord)
    assert not hasattr(record, '__dict__')  # slots only: no hidden lists
    assert record.last_frame_id == num_frames - 1
    # 1 persistent + 100 transient ids, each transient 3 frames long
    assert tracker.num_tracks == 101
    lengths = Counter(i for ids in seen for i in ids)
    assert lengths[0] == num_frames
    assert sorted(set(lengths.values()) - {num_frames}) == [3]


def _record_layout(record):
    """Types and sizes of every stored field of a record."""
    layout = {}
    for name in TrackRecord.__slots__:
        value = getattr(record, name)
        if isinstance(value, dict):
            layout[name] = {k: tuple(v.shape) for k, v in value.items()}
        else:
            layout[name] = type(value).__name__
    return layout


def test_conflict_higher_score_keeps_track_other_becomes_new():
    # Both detections copy the track's box and embedding; only the score
    # differs, so both prefer track 0 and the 0.9 one must keep it. (mmdet's
    # MaskTrackRCNNTracker gives id 0 to both here.)
    tracker = STCTracker()
    tracker.track(_frame(0, [_box(0)], [0], [0.9], [[3.0, 0.0]]))
    out = tracker.track(
        _frame(1, [_box(0), _box(0)], [0, 0], [0.5, 0.9],
               [[3.0, 0.0], [3.0, 0.0]]))
    assert _ids(out) == [1, 0]


@pytest.mark.parametrize(
    'method,scores,new,expected',
    [
        # both want track 0: the higher score (6) keeps it, the other is new
        ('argmax', [[5., 1.], [6., 0.]], [2., 2.], [-1, 0]),
        ('hungarian', [[5., 1.], [6., 0.]], [2., 2.], [-1, 0]),
        # the loser's second choice (4) beats "new" (2): only hungarian uses it
        ('argmax', [[5., 4.], [6., 0.]], [2., 2.], [-1, 0]),
        ('hungarian', [[5., 4.], [6., 0.]], [2., 2.], [1, 0]),
        # total 9.9 + 9.5 > 10 + 1: hungarian gives track 0 to the lower score
        ('argmax', [[10., 9.9], [9.5, 0.]], [1., 1.], [0, -1]),
        ('hungarian', [[10., 9.9], [9.5, 0.]], [1., 1.], [1, 0]),
        # equal scores for one track: the lower detection index keeps it
        ('argmax', [[5.], [5.]], [0., 0.], [0, -1]),
        # a tie with "new" starts a new track
        ('argmax', [[2.]], [2.], [-1]),
        # -inf forbids a pair
        ('argmax', [[-INF, 1.]], [0.], [1]),
        ('hungarian', [[-INF, -INF]], [0.], [-1]),
        # a clip tracker's scalar new-track threshold
        ('argmax', [[0.7, 0.2], [0.1, 0.4]], 0.5, [0, -1]),
        ('hungarian', [[0.7, 0.6], [0.65, 0.4]], 0.5, [1, 0]),
    ])
def test_assign_detections_to_tracks(method, scores, new, expected):
    out = assign_detections_to_tracks(
        torch.tensor(scores), torch.tensor(new), method=method)
    assert out.tolist() == expected


def test_assign_with_no_track_or_no_detection():
    assert assign_detections_to_tracks(torch.zeros(
        3, 0), torch.zeros(3)).tolist() == [-1, -1, -1]
    assert assign_detections_to_tracks(torch.zeros(0, 2),
                                       torch.zeros(0)).tolist() == []
    with pytest.raises(AssertionError, match='new_scores'):
        assign_detections_to_tracks(torch.zeros(2, 2), torch.zeros(3))
    with pytest.raises(ValueError, match='Unknown assignment'):
        assign_detections_to_tracks(
            torch.zeros(1, 1), torch.zeros(1), method='greedy')


def test_embedding_momentum():
    # m = 0.25: stored = 0.75 * old + 0.25 * new
    tracker = STCTracker(momentums=dict(embeddings=0.25))
    tracker.track(_frame(0, [_box(0)], [0], [0.9], [[8.0, 0.0]]))
    tracker.track(_frame(1, [_box(0)], [0], [0.9], [[4.0, 4.0]]))
    stored = tracker.tracks[0].states['embeddings']
    assert torch.allclose(stored, torch.tensor([7.0, 1.0]))
    assert torch.equal(tracker.tracks[0].states['bboxes'],
                       torch.tensor(_box(0), dtype=torch.float32))


def test_first_frame_and_empty_frames():
    tracker = STCTracker()
    out = tracker.track(_empty(0))
    assert _ids(out) == [] and out.instances_id.dtype == torch.long
    out = tracker.track(
        _frame(1, [_box(0), _box(100), _box(200)], [0, 0, 1], [0.5, 0.6, 0.7],
               [[1., 0.], [1., 0.], [0., 1.]]))
    assert _ids(out) == [0, 1, 2]


def test_bad_input_is_refused():
    tracker = STCTracker()
    sample = _frame(0, [_box(0)], [0], [0.9], [[1.0, 0.0]])
    del sample.pred_instances.embeddings
    with pytest.raises(AssertionError, match="lack \\['embeddings'\\]"):
        tracker.track(sample)
    with pytest.raises(AssertionError, match='frame_id None'):
        tracker.track(DetDataSample())
    tracker.track(_frame(5, [_box(0)], [0], [0.9], [[1.0, 0.0]]))
    with pytest.raises(AssertionError, match=r'reset\(\) at the start'):
        tracker.track(_frame(2, [_box(0)], [0], [0.9], [[1.0, 0.0]]))
    tracker.reset()
    assert _ids(tracker.track(_frame(0, [_box(0)], [0], [0.9],
                                     [[1.0, 0.0]]))) == [0]
    with pytest.raises(ValueError, match='match_weights'):
        STCTracker(match_weights=dict(iou=2.0))
    with pytest.raises(ValueError, match='num_frames_retain'):
        STCTracker(num_frames_retain=0)


def test_cosine_similarity_is_scale_free_with_its_own_new_track_column():
    tracker = STCTracker(
        match_weights=dict(det_score=0.0, iou=0.0, det_label=0.0),
        embed_similarity='cosine',
        cosine_temperature=10.0,
        new_track_cosine=0.5)
    box = torch.tensor([[0., 0., 10., 10.]])
    label = torch.tensor([0])
    score = torch.tensor([1.0])
    track = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    boxes2, labels2 = box.repeat(2, 1), label.repeat(2)
    for scale in (0.01, 1.0, 100.0):  # the embedding norm does not matter
        emb = scale * torch.tensor([[0.8, 0.6]])  # cos 0.8 and 0.6
        out = tracker.get_match_score(box, label, score, emb, boxes2,
                                      labels2, track)
        logits = torch.tensor([[5.0, 8.0, 6.0]])  # 10 * [0.5, 0.8, 0.6]
        assert torch.allclose(out, torch.log_softmax(logits, 1), atol=1e-5)
    # the dot-product default depends on the scale: the same directions
    # are a sure match at norm 10 and no preference at norm 0.1
    dot = STCTracker(
        match_weights=dict(det_score=0.0, iou=0.0, det_label=0.0))
    probs = []
    for scale in (0.1, 10.0):
        out = dot.get_match_score(box, label, score,
                                  scale * torch.tensor([[0.8, 0.6]]),
                                  boxes2, labels2, scale * track)
        probs.append(out.exp()[0])
    assert probs[0].max() - probs[0].min() < 0.02
    assert probs[1][1] > 0.99
    with pytest.raises(ValueError, match='embed_similarity'):
        STCTracker(embed_similarity='l2')


def test_every_stc_config_tracks_with_the_cosine_similarity():
    """The STC configs' tracker default, chosen from the AssA measured in
    configs/stc/README.md ("Association"), for every STC config."""
    import glob
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    configs = sorted(glob.glob(osp.join(repo, 'configs', 'stc', '*.py')))
    assert len(configs) >= 10
    for path in configs:
        tracker = Config.fromfile(path).model.tracker
        assert tracker.type == 'STCTracker', path
        assert tracker.embed_similarity == 'cosine', path
