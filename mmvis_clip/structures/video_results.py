"""Tracked instances of a video's frames -> its YouTube-VIS results: the
one owner of that step, for the test loop's metric and the demo."""
from typing import Dict, List, Optional, Sequence

from .track_votes import TrackSummary, TrackVotes
from .vis_format import VISFormatError


class VideoResults:
    """The YouTube-VIS results of one video, built frame by frame.

    One result per track id, in the order the ids first appear, with
    ``video_id``, ``category_id`` and ``score`` (the track's
    :class:`~.track_votes.TrackSummary`: majority-vote label, float32 mean
    score) and ``segmentations`` (one compressed RLE, ``str`` counts, or
    None per frame), as mmdet's ``YouTubeVISMetric`` writes them. An id
    given to two instances of one frame votes twice and keeps the later
    mask, as there.

    Args:
        video_id (int): ``video_id`` of the results. Defaults to 1.
        cat_ids (Sequence[int], optional): Category id of each label;
            defaults to ``label + 1`` (YouTube-VIS and OVIS ids).
        tally (bool): Count the tracks' votes here. False when the frames
            come from a stream that counts them already (the
            ``VideoSegmenter``'s summaries, given to :meth:`results`).
            Defaults to True.
    """

    def __init__(self,
                 video_id: int = 1,
                 cat_ids: Optional[Sequence[int]] = None,
                 tally: bool = True) -> None:
        self.video_id = int(video_id)
        self.cat_ids = None if cat_ids is None else [int(i) for i in cat_ids]
        self.votes = TrackVotes() if tally else None
        self.segmentations: Dict[int, Dict[int, dict]] = dict()
        self.num_frames = 0

    def add(self, frame_index: int, instances_id: Sequence[int],
            labels: Sequence[int], scores: Sequence[float],
            rles: Sequence[dict]) -> None:
        """Record the tracked instances of one frame (frames in any order).

        Args:
            frame_index (int): The frame's index in the video.
            instances_id, labels, scores (Sequence): (n, ) each.
            rles (Sequence[dict]): n compressed RLEs (``str`` or ``bytes``
                counts).
        """
        if self.votes is not None:
            self.votes.add(instances_id, labels, scores)
        for track_id, rle in zip(instances_id, rles):
            counts = rle['counts']
            segs = self.segmentations.setdefault(int(track_id), dict())
            segs[int(frame_index)] = dict(
                size=[int(v) for v in rle['size']],
                counts=counts.decode() if isinstance(counts, bytes) else
                counts)
        self.num_frames = max(self.num_frames, int(frame_index) + 1)

    @property
    def num_tracks(self) -> int:
        return len(self.segmentations)

    def category_id(self, label: int) -> int:
        """The category id written for ``label``."""
        if self.cat_ids is None:
            return label + 1
        if not 0 <= label < len(self.cat_ids):
            raise VISFormatError(
                f'label {label} in video {self.video_id} is outside the '
                f'{len(self.cat_ids)} classes')
        return self.cat_ids[label]

    def results(
            self,
            num_frames: Optional[int] = None,
            summaries: Optional[Dict[int, TrackSummary]] = None
    ) -> List[dict]:
        """The results list, tracks in the order they first appear.

        Args:
            num_frames (int, optional): Video length (the length of each
                ``segmentations`` list); defaults to the last frame seen
                plus one.
            summaries (dict[int, TrackSummary], optional): Every track's
                summary, by id; required with ``tally=False``, not allowed
                otherwise.
        """
        length = self.num_frames if num_frames is None else int(num_frames)
        assert length >= self.num_frames, \
            f'num_frames={length} but frame {self.num_frames - 1} has results'
        assert (summaries is None) == (self.votes is not None), \
            'summaries are given exactly when the votes are counted outside'
        if summaries is None:
            summaries = self.votes.summaries()
        out = []
        for track_id, segs in self.segmentations.items():
            summary = summaries[track_id]
            out.append(
                dict(
                    video_id=self.video_id,
                    score=summary.score,
                    category_id=self.category_id(summary.label),
                    segmentations=[segs.get(i) for i in range(length)]))
        return out
