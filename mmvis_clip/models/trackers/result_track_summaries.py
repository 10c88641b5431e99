"""Video-level label and score of tracks, counted from emitted results.

For trackers that keep no such summary themselves (mmdet's
``MaskTrackRCNNTracker``); :class:`~mmvis_clip.models.trackers.
VISTrackerBase` trackers have ``track_summaries()``.
"""
from typing import Dict, Iterable, Sequence

from .track_record import TrackRecord, TrackSummary


class ResultTrackSummaries:
    """Majority-vote label and mean score of every track id seen.

    Each live id keeps a :class:`TrackRecord` without states: a label
    ``Counter`` (at most one entry per class) and a score sum, so the
    memory per id is bounded. Ids that the tracker no longer holds are
    retired (:meth:`retire`) into ``finished`` (three numbers each), which
    :meth:`pop_finished` drains.
    """

    def __init__(self) -> None:
        self.records: Dict[int, TrackRecord] = dict()
        self.finished: Dict[int, TrackSummary] = dict()

    def observe(self, frame_index: int, instances_id: Sequence[int],
                labels: Sequence[int], scores: Sequence[float]) -> None:
        """Count the labels and scores of one frame's instances."""
        for track_id, label, score in zip(instances_id, labels, scores):
            record = self.records.get(track_id)
            if record is None:
                self.records[track_id] = TrackRecord(
                    frame_index, label, score, states={})
            else:
                record.observe(frame_index, label, score, states={})

    def retire(self, live_ids: Iterable[int]) -> None:
        """Move the ids not in ``live_ids`` to ``finished``."""
        live = {int(i) for i in live_ids}
        for track_id in [i for i in self.records if i not in live]:
            self.finished[track_id] = self.records.pop(track_id).summary()

    def pop_finished(self) -> Dict[int, TrackSummary]:
        """Return and forget the summaries of retired ids."""
        finished, self.finished = self.finished, dict()
        return finished

    def summaries(self) -> Dict[int, TrackSummary]:
        """Summaries of the retired (not popped) and the live ids, by id."""
        out = dict(self.finished)
        out.update({i: r.summary() for i, r in self.records.items()})
        return dict(sorted(out.items()))
