"""TrackVotes: a track's video-level label and score from its frames, by
hand-computed values and by mmdet's YouTubeVISMetric rule."""
import numpy as np
import pytest

from mmvis_clip.structures import TrackSummary, TrackVotes


@pytest.mark.parametrize(
    'labels,scores,label,score',
    [
        ([2, 2, 5, 2, 5], [0.9, 0.8, 0.5, 0.7, 0.6], 2, 3.5 / 5),
        ([3, 1, 3, 1], [0.2, 0.4, 0.6, 0.8], 1, 2.0 / 4),  # tie -> smallest
        ([4, 7, 7, 4, 9], [1.0, 0.5, 0.5, 0.5, 0.5], 4, 3.0 / 5),  # tie
    ])
def test_majority_vote_and_mean_score(labels, scores, label, score):
    votes = TrackVotes()
    for lab, sc in zip(labels, scores):
        votes.add([7], [lab], [sc])
    summary = votes.summary(7)
    assert summary == (label, pytest.approx(score, rel=1e-6), len(labels))
    assert isinstance(summary, TrackSummary)


def test_equals_mmdet_rule_bit_for_bit():
    # mmdet's YouTubeVISMetric: np.bincount(labels).argmax() and the mean
    # of a float32 array of the per-frame scores
    rng = np.random.default_rng(0)
    votes, frames = TrackVotes(), {}
    for _ in range(200):
        ids = rng.choice(6, size=3, replace=False)
        labels = rng.integers(0, 4, size=3)
        scores = rng.random(3).astype(np.float32)
        votes.add(ids.tolist(), labels.tolist(), scores.tolist())
        for i, lab, sc in zip(ids, labels, scores):
            frames.setdefault(int(i), []).append((int(lab), sc))
    summaries = votes.summaries()
    assert sorted(summaries) == sorted(frames)
    for i, seen in frames.items():
        label = int(np.bincount([lab for lab, _ in seen]).argmax())
        score = np.array([sc for _, sc in seen], np.float32).mean().item()
        assert summaries[i] == (label, score, len(seen))  # exact


def test_order_of_first_appearance_and_pop():
    votes = TrackVotes()
    votes.add([5, 2], [0, 1], [0.5, 0.25])
    votes.add([9, 2], [3, 1], [1.0, 0.75])
    assert list(votes.summaries()) == [5, 2, 9]
    assert votes.pop([2]) == {2: (1, 0.5, 2)}
    assert 2 not in votes and len(votes) == 2
    votes.add([2], [0], [1.0])  # a popped id counts afresh
    assert votes.summary(2) == (0, 1.0, 1)


def test_an_id_twice_in_one_frame_votes_twice():
    votes = TrackVotes()
    votes.add([1, 1], [3, 2], [0.5, 1.0])
    assert votes.summary(1) == (2, 0.75, 2)  # tie 2 / 3 -> 2
