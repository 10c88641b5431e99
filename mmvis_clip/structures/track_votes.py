"""Video-level label and score of each track from its per-frame results:
the one owner of that rule, for ``tools/test.py``'s results, the demo and
the stream API's track summaries."""
from array import array
from collections import Counter
from typing import Dict, Iterable, NamedTuple, Sequence

import numpy as np


class TrackSummary(NamedTuple):
    """Video-level result of one track.

    Attributes:
        label (int): Majority vote of its per-frame labels; a tie goes to
            the smallest label (``np.bincount(labels).argmax()``, mmdet's
            ``YouTubeVISMetric`` rule).
        score (float): Mean of its per-frame scores, computed in float32.
        num_frames (int): Number of per-frame instances counted: the
            frames with the track, unless a tracker gave its id to two
            instances of one frame (mmdet's ``MaskTrackRCNNTracker`` can),
            which vote twice.
    """

    label: int
    score: float
    num_frames: int


class TrackVotes:
    """Per-frame labels and scores of track ids in, :class:`TrackSummary`
    per id out (mmdet's ``YouTubeVISMetric`` rule, which ``tools/test.py``'s
    results have always followed).

    Each id keeps a label ``Counter`` (at most one entry per class) and its
    scores as float32 (4 bytes a frame: the float32 mean needs them all);
    :meth:`pop` forgets ids, e.g. those a stream's tracker dropped. Ids are
    kept in the order they first appear.
    """

    def __init__(self) -> None:
        self.labels: Dict[int, Counter] = dict()
        self.scores: Dict[int, array] = dict()

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, track_id: int) -> bool:
        return track_id in self.labels

    def add(self, instances_id: Sequence[int], labels: Sequence[int],
            scores: Sequence[float]) -> None:
        """Count one frame's instances: ``instances_id``, ``labels``,
        ``scores`` (n, ) each. An id given to two instances of the frame
        votes twice."""
        for track_id, label, score in zip(instances_id, labels, scores):
            track_id = int(track_id)
            if track_id not in self.labels:
                self.labels[track_id] = Counter()
                self.scores[track_id] = array('f')
            self.labels[track_id][int(label)] += 1
            self.scores[track_id].append(float(score))

    def summary(self, track_id: int) -> TrackSummary:
        """The :class:`TrackSummary` of a counted id."""
        votes = self.labels[track_id]
        # the highest count, then the smallest label: bincount().argmax()
        label = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        scores = np.frombuffer(self.scores[track_id], dtype=np.float32)
        return TrackSummary(label, scores.mean().item(), len(scores))

    def summaries(self) -> Dict[int, TrackSummary]:
        """Every counted id's summary, in order of first appearance."""
        return {i: self.summary(i) for i in self.labels}

    def pop(self, track_ids: Iterable[int]) -> Dict[int, TrackSummary]:
        """Summaries of ``track_ids`` (counted ones), then forget them."""
        out = dict()
        for track_id in track_ids:
            out[track_id] = self.summary(track_id)
            del self.labels[track_id], self.scores[track_id]
        return out
