"""Bounded track memory shared by the frame (STC) and clip (CiCo) trackers."""
from typing import Dict, List, Optional

import torch
from torch import Tensor

from .track_assignment import ASSIGNMENT_METHODS, assign_detections_to_tracks
from .track_record import TrackRecord


class VISTrackerBase:
    """Bounded track memory of one video: ids, assignment, lost tracks.

    A subclass scores detections against the tracks; one time step (a frame
    or a clip) goes::

        track_ids = self.ids                        # (M, ) ids, in order
        scores = ...                                 # (N, M)
        ids = self.assign_ids(scores, new_scores, track_ids)  # (N, )
        self.update(frame_id, ids, labels, embeddings=embeds, ...)

    ``update`` must be called at every step, with empty tensors when there
    is no detection, so that lost tracks age.

    Args:
        num_frames_retain (int): A track last observed at step ``t`` can be
            matched up to step ``t + num_frames_retain``. Defaults to 20.
        momentums (dict[str, float], optional): ``{name: m}`` stores
            ``(1 - m) * old + m * new``. Defaults to None.
        assignment (str): ``'argmax'`` or ``'hungarian'``, see
            :func:`assign_detections_to_tracks`. Defaults to ``'argmax'``.

    Raises:
        ValueError: If an argument is out of range.

    Attributes:
        tracks (dict[int, TrackRecord]): Tracks in memory, by id.
    """

    def __init__(self,
                 num_frames_retain: int = 20,
                 momentums: Optional[Dict[str, float]] = None,
                 assignment: str = 'argmax') -> None:
        if not isinstance(num_frames_retain, int) or num_frames_retain < 1:
            raise ValueError('num_frames_retain must be an int >= 1, got '
                             f'{num_frames_retain!r}.')
        if momentums is not None:
            if not isinstance(momentums, dict):
                raise TypeError('momentums must be a dict {state: m}, got '
                                f'{type(momentums).__name__}.')
            for key, m in momentums.items():
                if not 0 <= m <= 1:
                    raise ValueError(f'momentums[{key!r}] must be in [0, 1],'
                                     f' got {m}.')
        if assignment not in ASSIGNMENT_METHODS:
            raise ValueError(f'Unknown assignment {assignment!r}; expected '
                             f'one of {ASSIGNMENT_METHODS}.')
        self.assignment = assignment
        self.momentums = momentums
        self.num_frames_retain = num_frames_retain
        self.reset()

    def reset(self) -> None:
        """Forget every track; call it at the start of each video."""
        self.num_tracks = 0
        self.tracks: Dict[int, TrackRecord] = dict()
        self.last_frame_id: Optional[int] = None
        self.state_keys: Optional[tuple] = None

    @property
    def empty(self) -> bool:
        """bool: No track in memory."""
        return not self.tracks

    @property
    def ids(self) -> List[int]:
        """list[int]: The ids of the tracks in memory, in insertion order."""
        return list(self.tracks)

    def allocate_ids(self, num: int) -> Tensor:
        """Allocate ``num`` new consecutive track ids, (num, ) long."""
        ids = torch.arange(
            self.num_tracks, self.num_tracks + num, dtype=torch.long)
        self.num_tracks += num
        return ids

    def assign_ids(self, match_scores: Tensor, new_scores,
                   track_ids: List[int]) -> Tensor:
        """Give each detection the id of its matched track or a new id.

        Args:
            match_scores (Tensor): Of shape (N, M).
            new_scores (Tensor | float): Of shape (N, ) or a scalar.
            track_ids (list[int]): The M track ids, in column order.

        Returns:
            Tensor: Of shape (N, ), long.
        """
        assert match_scores.shape[1] == len(track_ids), (
            f'{match_scores.shape[1]} columns, {len(track_ids)} track ids')
        columns = assign_detections_to_tracks(
            match_scores, new_scores, method=self.assignment).cpu()
        ids = torch.empty_like(columns)
        matched = columns >= 0
        ids[matched] = torch.tensor(
            track_ids, dtype=torch.long)[columns[matched]]
        ids[~matched] = self.allocate_ids(int((~matched).sum()))
        return ids

    def update(self, frame_id: int, ids: Tensor, labels: Tensor,
               **states: Tensor) -> None:
        """Record the observations of one time step and age lost tracks.

        Args:
            frame_id (int): Time step, increasing until :meth:`reset`.
            ids (Tensor): Of shape (N, ), no id twice.
            labels (Tensor): Of shape (N, ).
            **states (Tensor): Of shape (N, ...), the same names at every
                step.
        """
        frame_id = int(frame_id)
        assert self.last_frame_id is None or frame_id > self.last_frame_id, \
            f'frame_id {frame_id} after {self.last_frame_id}: reset() ' \
            'at the start of each video'
        # one transfer per tensor, not one host sync per detection
        id_list = [int(i) for i in ids.tolist()]
        label_list = [int(v) for v in labels.tolist()]
        assert len(set(id_list)) == len(id_list) == len(label_list) and all(
            len(v) == len(id_list) for v in states.values()), \
            'update: ids (no repeats), labels and states need N entries each'
        if id_list:
            keys = tuple(sorted(states))
            assert self.state_keys in (None, keys), \
                f'update: states {keys}, earlier {self.state_keys}'
            self.state_keys = keys
        self.last_frame_id = frame_id
        for i, track_id in enumerate(id_list):
            obs_states = {k: v[i] for k, v in states.items()}
            if track_id in self.tracks:
                self.tracks[track_id].observe(frame_id, label_list[i],
                                              obs_states, self.momentums)
            else:
                self.tracks[track_id] = TrackRecord(frame_id, label_list[i],
                                                    obs_states)
        self.pop_invalid_tracks(frame_id)

    def pop_invalid_tracks(self, frame_id: int) -> None:
        """Drop the tracks unseen for ``num_frames_retain`` steps."""
        lost = [
            track_id for track_id, record in self.tracks.items()
            if frame_id - record.last_frame_id >= self.num_frames_retain
        ]
        for track_id in lost:
            del self.tracks[track_id]

    def get(self, item: str, ids: Optional[List[int]] = None) -> Tensor:
        """State ``item`` of tracks ``ids`` (default all), stacked:
        (len(ids), ...)."""
        ids = self.ids if ids is None else ids
        assert ids, f'get({item!r}): no track in memory'
        return torch.stack([self.tracks[i].states[item] for i in ids])
