"""Results written as JSON Lines while a video streams, one flushed line
each (``docs/inference.md``, ``--out-frames``):

- ``{"video": NAME, "video_id": ID, "source": DESCRIPTION, "fps": FPS}``;
- per final frame: ``{"frame": I, "source_frame": J, "instances": [{"id",
  "category_id", "score", "bbox": [x1, y1, x2, y2], "segmentation": RLE},
  ...]}``;
- per ended track: ``{"track": ID, "category_id", "score", "frames"}``;
- last ``{"end": {...}}``: frame counts and ``stopped_by``.
"""
import json
from typing import Callable, Dict, List, Optional

from ..structures.frame_result import FrameResult
from ..structures.rle import encode_masks
from ..structures.track_votes import TrackSummary
from ..utils.user_errors import os_errors_name


class ResultsStreamWriter:
    """Append the streamed results of one video to a JSON Lines file
    (emptied at construction; not an atomic output).

    Args:
        path (str): The ``.jsonl`` file.
        category_id (Callable[[int], int]): Category id of a label, e.g.
            :meth:`~mmvis_clip.structures.video_results.
            VideoResults.category_id`.
        header (dict): The first line (``video``, ``video_id``, ...).
    """

    def __init__(self, path: str, category_id: Callable[[int], int],
                 header: dict) -> None:
        self.path = path
        self.category_id = category_id
        self._file = open(path, 'w', encoding='utf-8')
        self._write(header)

    def _write(self, obj: dict) -> None:
        with os_errors_name(self.path):
            self._file.write(json.dumps(obj, separators=(',', ':')) + '\n')
            self._file.flush()

    def frame(self,
              result: FrameResult,
              source_frame: int,
              rles: Optional[List[dict]] = None) -> None:
        """One frame's final results; ``source_frame``: its index in the
        source; ``rles``: its masks already encoded, if they are."""
        instances = []
        if rles is None:
            rles = encode_masks(result.masks)
        for i, rle in enumerate(rles):
            instances.append(
                dict(
                    id=int(result.instances_id[i]),
                    category_id=self.category_id(int(result.labels[i])),
                    score=float(result.scores[i]),
                    bbox=[float(v) for v in result.bboxes[i]],
                    segmentation=dict(
                        size=[int(s) for s in rle['size']],
                        counts=rle['counts'])))
        self._write(
            dict(
                frame=int(result.frame_index),
                source_frame=int(source_frame),
                instances=instances))

    def tracks(self, summaries: Dict[int, TrackSummary]) -> None:
        """One line per ended track, by id."""
        for track_id in sorted(summaries):
            summary = summaries[track_id]
            self._write(
                dict(
                    track=int(track_id),
                    category_id=self.category_id(int(summary.label)),
                    score=float(summary.score),
                    frames=int(summary.num_frames)))

    def end(self, stats: dict) -> None:
        """The last line: ``stats``, e.g. ``FrameReader.stats()`` with
        ``stopped_by``."""
        self._write(dict(end=stats))

    def close(self) -> Optional[str]:
        """Close the file; returns its path."""
        if not self._file.closed:
            with os_errors_name(self.path):
                self._file.close()
        return self.path
