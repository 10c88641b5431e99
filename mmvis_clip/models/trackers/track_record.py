"""The memory kept for one identified instance, and its summary."""
from collections import Counter
from typing import Dict, NamedTuple, Optional

from torch import Tensor


class TrackSummary(NamedTuple):
    """Video-level result of one track.

    Attributes:
        label (int): Majority vote of the per-observation labels; a tie goes
            to the smallest label index (what ``np.bincount(...).argmax()``
            in mmdet's ``YouTubeVISMetric`` gives).
        score (float): Mean of the per-observation scores.
        num_frames (int): Number of observations (frames for a frame
            tracker, clips for a clip tracker).
    """

    label: int
    score: float
    num_frames: int


def majority_label(label_votes: Counter) -> int:
    """Most frequent label of ``label_votes``; ties go to the smallest.

    Args:
        label_votes (Counter): ``{label: number of votes}``, not empty.

    Returns:
        int: The winning label.
    """
    if not label_votes:
        raise ValueError('majority_label got no votes.')
    # max over (count, -label): the highest count, then the smallest label
    return max(label_votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]


class TrackRecord:
    """Bounded memory of one track.

    Only the latest value of each state (or its momentum average) is kept;
    the label and score history is kept as a label ``Counter`` and a running
    score sum, so the record has a constant size however long the track
    lives (the ``Counter`` holds at most one entry per category).

    Args:
        frame_id (int): Time step of the first observation.
        label (int): Label of the first observation.
        score (float): Score of the first observation.
        states (dict[str, Tensor]): Per-instance states of the first
            observation, e.g. ``bboxes`` of shape (4, ) or ``embeddings`` of
            shape (D, ). Stored detached.

    Attributes:
        states (dict[str, Tensor]): Latest (or momentum-averaged) states.
        first_frame_id (int): Time step of the first observation.
        last_frame_id (int): Time step of the latest observation.
        last_label (int): Label of the latest observation.
        label_votes (Counter): ``{label: number of observations}``.
        score_sum (float): Sum of the observation scores.
        num_frames (int): Number of observations.
    """

    __slots__ = ('states', 'first_frame_id', 'last_frame_id', 'last_label',
                 'label_votes', 'score_sum', 'num_frames')

    def __init__(self, frame_id: int, label: int, score: float,
                 states: Dict[str, Tensor]) -> None:
        self.states = {k: v.detach() for k, v in states.items()}
        self.first_frame_id = frame_id
        self.last_frame_id = frame_id
        self.last_label = label
        self.label_votes = Counter({label: 1})
        self.score_sum = float(score)
        self.num_frames = 1

    def observe(self,
                frame_id: int,
                label: int,
                score: float,
                states: Dict[str, Tensor],
                momentums: Optional[Dict[str, float]] = None) -> None:
        """Record a new observation of the track.

        Args:
            frame_id (int): Time step of the observation.
            label (int): Observed label.
            score (float): Observed score.
            states (dict[str, Tensor]): Observed per-instance states.
            momentums (dict[str, float], optional): For the states named
                here the stored value becomes ``(1 - m) * old + m * new``
                (mmdet's ``BaseTracker`` convention); the other states are
                replaced by the new value.
        """
        momentums = momentums or {}
        for key, value in states.items():
            value = value.detach()
            if key in momentums:
                m = momentums[key]
                value = (1 - m) * self.states[key] + m * value
            self.states[key] = value
        self.last_frame_id = frame_id
        self.last_label = label
        self.label_votes[label] += 1
        self.score_sum += float(score)
        self.num_frames += 1

    @property
    def label(self) -> int:
        """int: Majority-vote label (ties to the smallest label)."""
        return majority_label(self.label_votes)

    @property
    def score(self) -> float:
        """float: Mean observation score."""
        return self.score_sum / self.num_frames

    def summary(self) -> TrackSummary:
        """Condense the record into a :class:`TrackSummary`."""
        return TrackSummary(self.label, self.score, self.num_frames)
