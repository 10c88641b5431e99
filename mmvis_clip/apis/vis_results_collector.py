"""YouTube-VIS results of one video, gathered from streamed frames."""
from typing import Dict, List, Optional, Sequence

from ..models.trackers import TrackRecord
from ..utils.rle import encode_masks
from .frame_result import FrameResult


class VISResultsCollector:
    """Turn a stream of :class:`FrameResult` s into the YouTube-VIS results
    of the video, as ``tools/test.py`` writes them (mmdet's
    ``YouTubeVISMetric`` format): one entry per track id with
    ``video_id``, ``category_id`` (majority vote of the per-frame labels,
    ties to the smallest label), ``score`` (mean per-frame score) and
    ``segmentations`` (one compressed RLE or None per frame).

    Per track it keeps a label ``Counter``, a score sum and the RLE of each
    frame it is in (the output itself). As in mmdet's metric, an id given
    to two instances of one frame votes twice and keeps the later mask.

    Args:
        video_id (int): ``video_id`` of the entries. Defaults to 1.
        cat_ids (Sequence[int], optional): Category id of each label;
            defaults to ``label + 1`` (YouTube-VIS and OVIS ids).
    """

    def __init__(self, video_id: int = 1,
                 cat_ids: Optional[Sequence[int]] = None) -> None:
        self.video_id = int(video_id)
        self.cat_ids = None if cat_ids is None else [int(i) for i in cat_ids]
        self.records: Dict[int, TrackRecord] = dict()
        self.segmentations: Dict[int, Dict[int, dict]] = dict()
        self.num_frames = 0

    def add(self, result: FrameResult) -> None:
        """Record the instances of one frame (frames in any order)."""
        rles = encode_masks(result.masks)
        for i, track_id in enumerate(result.instances_id.tolist()):
            label, score = int(result.labels[i]), float(result.scores[i])
            record = self.records.get(track_id)
            if record is None:
                self.records[track_id] = TrackRecord(
                    result.frame_index, label, score, states={})
                self.segmentations[track_id] = dict()
            else:
                record.observe(result.frame_index, label, score, states={})
            self.segmentations[track_id][result.frame_index] = rles[i]
        self.num_frames = max(self.num_frames, result.frame_index + 1)

    def category_id(self, label: int) -> int:
        if self.cat_ids is None:
            return label + 1
        if not 0 <= label < len(self.cat_ids):
            raise ValueError(f'label {label} is outside the '
                             f'{len(self.cat_ids)} categories')
        return self.cat_ids[label]

    def results(self, num_frames: Optional[int] = None) -> List[dict]:
        """The results list, tracks by id.

        Args:
            num_frames (int, optional): Video length (the length of each
                ``segmentations`` list); defaults to the last frame seen
                plus one.
        """
        length = self.num_frames if num_frames is None else int(num_frames)
        if length < self.num_frames:
            raise ValueError(f'num_frames={length} but frame '
                             f'{self.num_frames - 1} has results')
        out = []
        for track_id in sorted(self.records):
            record = self.records[track_id]
            segs = self.segmentations[track_id]
            out.append(
                dict(
                    video_id=self.video_id,
                    category_id=self.category_id(record.label),
                    score=record.score,
                    segmentations=[segs.get(i) for i in range(length)]))
        return out
