"""VideoResults: one video's YouTube-VIS results, equal to mmdet's
YouTubeVISMetric formatting (the rule tools/test.py has always written)
and to hand-computed cases."""
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from mmdet.evaluation.metrics import YouTubeVISMetric

from mmvis_clip.structures import VideoResults, VISFormatError
from mmvis_clip.structures.rle import encode_masks


def random_frames(rng, num_frames, num_ids, height=6, width=8):
    """Per frame: mmdet's prediction dict (RLE bytes counts, numpy)."""
    frames = []
    for _ in range(num_frames):
        ids = rng.permutation(num_ids)[:rng.integers(0, num_ids + 1)]
        masks = rng.random((len(ids), height, width)) > 0.5
        rles = mask_utils.encode(
            np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8))) \
            if len(ids) else []
        frames.append(
            dict(
                instances_id=ids.astype(np.int64),
                labels=rng.integers(0, 4, len(ids)),
                scores=rng.random(len(ids)).astype(np.float32),
                masks=list(rles)))
    return frames


def mmdet_results(frames, video_id):
    metric = YouTubeVISMetric()
    metric._vis_meta_info = dict(
        images=[dict(frame_id=i) for i in range(len(frames))],
        videos=[dict(id=video_id)])
    copies = [dict(f, masks=[dict(r) for r in f['masks']]) for f in frames]
    return metric._format_one_video_preds(copies)


@pytest.mark.parametrize('seed', range(5))
def test_equal_to_mmdet_formatting(seed):
    rng = np.random.default_rng(seed)
    frames = random_frames(rng, num_frames=7, num_ids=5)
    video = VideoResults(video_id=3)
    for index, f in enumerate(frames):
        video.add(index, f['instances_id'], f['labels'], f['scores'],
                  f['masks'])
    ours = video.results(len(frames))
    assert ours == mmdet_results(frames, 3)  # order, floats, RLEs
    assert [type(r['score']) for r in ours] == [float] * len(ours)


def test_by_hand():
    masks = np.zeros((2, 4, 4), bool)
    masks[0, 0, 0] = masks[1, 3, 3] = True
    a, b = encode_masks(masks)
    video = VideoResults(video_id=9, cat_ids=[10, 20, 30])
    # id 5 first appears in frame 1, id 2 in frame 2: that order
    video.add(1, [5], [2], [0.5], [a])
    video.add(2, [2, 5], [0, 2], [0.25, 0.75], [a, b])
    video.add(3, [5, 5], [1, 1], [0.5, 0.5], [a, b])  # twice: 2 votes
    five, two = video.results(5)
    # labels of id 5: 2, 2, 1, 1 -> tie to the smallest, label 1
    assert five['category_id'] == 20 and two['category_id'] == 10
    assert five['score'] == pytest.approx((0.5 + 0.75 + 0.5 + 0.5) / 4)
    assert five['segmentations'] == [None, a, b, b, None]  # later mask
    assert two['segmentations'] == [None, None, a, None, None]
    assert five['video_id'] == two['video_id'] == 9
    assert video.num_tracks == 2


def test_label_outside_the_classes_names_the_video():
    video = VideoResults(video_id=4, cat_ids=[1, 2])
    video.add(0, [0], [2], [0.5], encode_masks(np.ones((1, 2, 2), bool)))
    with pytest.raises(VISFormatError, match='label 2 in video 4'):
        video.results()


@pytest.mark.parametrize('seed', range(3))
def test_votes_counted_outside_give_the_same_results(seed):
    """tally=False with a stream's summaries (popped as tracks end, then
    the rest): the results of the video's own count, byte for byte."""
    from mmvis_clip.structures import TrackVotes
    rng = np.random.default_rng(seed)
    frames = random_frames(rng, num_frames=9, num_ids=8)
    for f in frames[5:]:  # tracks 0 and 1 end by frame 4
        keep = f['instances_id'] >= 2
        f.update(instances_id=f['instances_id'][keep],
                 labels=f['labels'][keep], scores=f['scores'][keep],
                 masks=[m for m, k in zip(f['masks'], keep) if k])
    own, outside = VideoResults(video_id=2), VideoResults(video_id=2,
                                                          tally=False)
    votes, summaries = TrackVotes(), dict()
    for index, f in enumerate(frames):
        for video in (own, outside):
            video.add(index, f['instances_id'], f['labels'], f['scores'],
                      f['masks'])
        votes.add(f['instances_id'], f['labels'], f['scores'])
        if index == 4:  # as pop_finished_summaries does mid-stream: the
            # ids that no later frame has (the tracks that ended)
            later = {int(i) for g in frames[5:] for i in g['instances_id']}
            ended = [i for i in votes.labels if i not in later]
            assert ended  # the case this test is for
            summaries.update(votes.pop(ended))
    summaries.update(votes.summaries())
    assert outside.results(11, summaries) == own.results(11)
    assert outside.num_tracks == own.num_tracks == len(summaries)
    with pytest.raises(AssertionError, match='summaries are given'):
        outside.results(11)
