"""The memory kept for one identified instance."""
from typing import Dict, Optional

from torch import Tensor


class TrackRecord:
    """Bounded memory of one track: the latest value of each state (or its
    momentum average), its latest label and when it was last observed,
    whatever the length of the video. (The video-level label and score of
    a track come from its outputs:
    :class:`~mmvis_clip.structures.track_votes.TrackVotes`.)

    Args:
        frame_id (int): Time step of the first observation.
        label (int): Label of the first observation.
        states (dict[str, Tensor]): Per-instance states of the first
            observation, e.g. ``bboxes`` of shape (4, ) or ``embeddings`` of
            shape (D, ). Stored detached.

    Attributes:
        states (dict[str, Tensor]): Latest (or momentum-averaged) states.
        last_frame_id (int): Time step of the latest observation.
        last_label (int): Label of the latest observation.
    """

    __slots__ = ('states', 'last_frame_id', 'last_label')

    def __init__(self, frame_id: int, label: int,
                 states: Dict[str, Tensor]) -> None:
        self.states = {k: v.detach() for k, v in states.items()}
        self.last_frame_id = frame_id
        self.last_label = label

    def observe(self,
                frame_id: int,
                label: int,
                states: Dict[str, Tensor],
                momentums: Optional[Dict[str, float]] = None) -> None:
        """Record a new observation of the track.

        Args:
            frame_id (int): Time step of the observation.
            label (int): Observed label.
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
