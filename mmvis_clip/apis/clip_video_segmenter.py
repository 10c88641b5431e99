"""Streaming adapter for clip-in clip-out models (CiCo)."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from ..models.trackers import TrackSummary
from ..models.vis.cico import CiCo
from .frame_result import FrameResult
from .video_segmenter import VideoSegmenter, register_segmenter


@register_segmenter(CiCo)
class ClipVideoSegmenter(VideoSegmenter):
    """Adapter for clip models: frames are buffered into clips.

    The video is cut as in the model's test loop (``ClipTracker``'s
    ``clip_len`` T frames with ``overlap`` To frames shared by consecutive
    clips): when T frames are buffered, the clip goes through the config's
    test pipeline and ``CiCo.track_clip`` (detection and ``ClipTracker``),
    and :meth:`push` returns the frames that became final (the clip's
    frames except its last To, which the next clip writes). Only the last
    To frames stay buffered. :meth:`finish` pads a partial last clip by
    repeating its last frame (as the test loop does), then flushes the
    tracker. State: at most T frames plus the tracker's bounded memory.
    """

    def reset(self) -> None:
        super().reset()
        self.model.reset_clip_state()
        self._frames: List[np.ndarray] = []
        self._frame_ids: List[int] = []
        self._num_new = 0  # buffered frames not yet in a processed clip
        self._clips_done = 0

    @property
    def clip_len(self) -> int:
        return self.tracker.clip_len

    def _push(self, image: np.ndarray) -> List[FrameResult]:
        self._frames.append(image)
        self._frame_ids.append(self.frame_index)
        self._num_new += 1
        self.frame_index += 1
        if len(self._frames) < self.clip_len:
            return []
        return self._process(self._frames, self._frame_ids)

    def _process(self, frames: Sequence[np.ndarray],
                 frame_ids: Sequence[int]) -> List[FrameResult]:
        """Run one (possibly padded) clip; keep its overlap frames."""
        final = self._run_model(self._prepare(frames, frame_ids))
        overlap = self.tracker.overlap
        keep = max(len(self._frames) - overlap, 0) if overlap else len(
            self._frames)
        self._frames = self._frames[keep:]
        self._frame_ids = self._frame_ids[keep:]
        self._num_new = 0
        self._clips_done += 1
        return self._to_results(final)

    def _run_model(self, data: dict):
        """Data pre-processor and ``CiCo.track_clip`` on one collated
        clip; returns the tracker's final ``(frame_id, InstanceData)``
        pairs."""
        model = self.model
        with torch.no_grad():
            data = model.data_preprocessor(data, False)
            clip = data['data_samples'][0]
            frames = [clip[t] for t in range(len(clip))]
            frame_ids = [int(f.metainfo['frame_id']) for f in frames]
            return model.track_clip(
                data['inputs'], frames, frame_ids, rescale=True)

    def _to_results(self, final) -> List[FrameResult]:
        return [
            FrameResult.from_instances(frame_id, instances, self.frame_shape)
            for frame_id, instances in final
        ]

    def _finish(self) -> Tuple[List[FrameResult], Dict[int, TrackSummary]]:
        results = []
        if self._num_new > 0 or (self._clips_done == 0 and self._frames):
            pad = self.clip_len - len(self._frames)
            frames = self._frames + [self._frames[-1]] * pad
            frame_ids = self._frame_ids + [self._frame_ids[-1]] * pad
            results += self._process(frames, frame_ids)
        results += self._to_results(self.tracker.flush())
        return results, self.tracker.track_summaries()

    def pop_finished_summaries(self) -> Dict[int, TrackSummary]:
        return self.tracker.pop_finished_summaries()
