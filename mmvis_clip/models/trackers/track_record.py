"""The memory kept for one identified instance."""
from typing import Dict, Optional

from torch import Tensor


class TrackRecord:
    """Latest (or momentum-averaged) states, label and time step of a track.

    Args:
        frame_id (int): Time step of the first observation.
        label (int): Label of the first observation.
        states (dict[str, Tensor]): First states, e.g. ``bboxes`` (4, ),
            ``embeddings`` (D, ). Stored detached.

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
            momentums (dict[str, float], optional): ``{name: m}``: store
                ``(1 - m) * old + m * new``; other states are replaced.
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
