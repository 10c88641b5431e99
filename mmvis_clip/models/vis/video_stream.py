"""The one inference contract of the package's video models::

    model.init_state()                       # a new video
    for inputs, frames in chunks:            # (1, n, C, H, W), n samples
        for frame_id, instances in model.step(inputs, frames):
            ...                              # final results, frame order
    for frame_id, instances in model.flush():
        ...                                  # the rest, at the video's end

``predict`` and the stream API both go through it (``docs/architecture.md``).
"""
from abc import ABCMeta, abstractmethod
from typing import List, Sequence, Tuple

from mmdet.models.trackers import MaskTrackRCNNTracker
from mmdet.structures import DetDataSample, TrackDataSample, TrackSampleList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..utils.inference_stages import mark_module_stage
from ..utils.offload import offload

#: ``(frame_id, instances)`` pairs: ``frame_id`` of the frame's metainfo,
#: ``instances`` with ``bboxes`` (n, 4), ``masks`` (n, H, W) bool,
#: ``labels`` (n, ), ``scores`` (n, ) and ``instances_id`` (n, ).
FrameResults = List[Tuple[int, InstanceData]]


class VideoStreamMixin(metaclass=ABCMeta):
    """``predict`` over whole videos from ``init_state`` / ``step`` /
    ``flush``, which a video model implements."""

    @abstractmethod
    def init_state(self) -> None:
        """Start a new video: forget the tracks and anything buffered."""

    @abstractmethod
    def step(self,
             inputs: Tensor,
             frames: Sequence[DetDataSample],
             rescale: bool = True) -> FrameResults:
        """Feed the next frames of the video.

        Args:
            inputs (Tensor): (1, n, C, H, W), pre-processed frames.
            frames (Sequence[DetDataSample]): Their n samples, ``frame_id``
                increasing by 1 from the previous step.
            rescale (bool): Results at the original frame resolution.

        Returns:
            list[tuple[int, InstanceData]]: The frames final now (none or
            several), in frame order.
        """

    @abstractmethod
    def flush(self) -> FrameResults:
        """End the video: the frames not yet returned, in frame order."""

    def predict(self,
                inputs: Tensor,
                data_samples: TrackSampleList,
                rescale: bool = True,
                **kwargs) -> TrackSampleList:
        """Inference over the frames of one video; ``frame_id`` 0 starts a
        new video.

        Args:
            inputs (Tensor): (1, L, C, H, W), the frames of a video.
            data_samples (list[TrackDataSample]): One sample of L frames.
            rescale (bool): Results at the original frame resolution.

        Returns:
            list[TrackDataSample]: The sample with ``pred_track_instances``
            (``bboxes``, ``scores``, ``labels``, ``masks`` (bool),
            ``instances_id``) in every frame, on the CPU.
        """
        assert inputs.dim() == 5 and len(data_samples) == 1, \
            f'one video (1, L, C, H, W) per batch, got ' \
            f'{tuple(inputs.shape)} and {len(data_samples)} samples'
        assert self.tracker is not None, 'the config has no tracker'
        video = data_samples[0]
        frames = [video[t] for t in range(len(video))]
        position = {
            int(f.metainfo.get('frame_id', t)): t
            for t, f in enumerate(frames)
        }
        if frames[0].metainfo.get('frame_id', 0) == 0:
            self.init_state()
        for t, frame in enumerate(frames):
            for frame_id, result in self.step(inputs[:, t:t + 1], [frame],
                                              rescale):
                _store_final(frames[position[frame_id]], result)
        for frame_id, result in self.flush():
            _store_final(frames[position[frame_id]], result)
        return [video]


def _store_final(frame: DetDataSample, result: InstanceData) -> None:
    """Set a frame's final ``pred_track_instances`` (and move its
    ``pred_instances``) to the CPU, each shared tensor copied once."""
    memo = dict()
    frame.pred_track_instances = offload(result, memo)
    if 'pred_instances' in frame:
        frame.pred_instances = offload(frame.pred_instances, memo)


class FrameModelStream(VideoStreamMixin):
    """:class:`VideoStreamMixin` for an mmdet VIS model that tracks frame
    by frame in its own ``predict`` (MaskTrack R-CNN).

    ``MaskTrackRCNNTracker`` reads only the latest entry of its per-track
    lists; they are cut to it after each step (bounded memory). The model's
    networks are marked as inference stages by forward hooks.

    Args:
        model (nn.Module): The model, with a ``tracker``.
    """

    #: Trackers that only read the latest entry of their per-track lists.
    LATEST_ONLY_TRACKERS = (MaskTrackRCNNTracker, )

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.tracker = model.tracker
        self._mark_stages()

    def _mark_stages(self) -> None:
        """Mark the model's networks as inference stages (a module shared
        by two, e.g. one RoI extractor, keeps the first)."""
        detector = getattr(self.model, 'detector', None)
        roi_head = getattr(detector, 'roi_head', None)
        track_head = getattr(self.model, 'track_head', None)
        marked = set()
        for owner, names, stage in (
            (detector, ('backbone', 'neck'), None),
            (detector, ('rpn_head', ), 'heads'),
            (roi_head, ('bbox_roi_extractor', 'bbox_head'), 'heads'),
            (roi_head, ('mask_roi_extractor', 'mask_head'), 'mask'),
            (track_head, ('roi_extractor', 'embed_head'), 'tracking'),
        ):
            for name in names:
                module = getattr(owner, name, None)
                if isinstance(module, nn.Module) and id(module) not in marked:
                    marked.add(id(module))
                    mark_module_stage(module, stage or name)

    def init_state(self) -> None:
        self.tracker.reset()

    def step(self,
             inputs: Tensor,
             frames: Sequence[DetDataSample],
             rescale: bool = True) -> FrameResults:
        video = TrackDataSample(video_data_samples=list(frames))
        self.model.predict(inputs, [video], rescale=rescale)
        results = [(int(frame.metainfo['frame_id']),
                    frame.pred_track_instances) for frame in frames]
        if isinstance(self.tracker, self.LATEST_ONLY_TRACKERS):
            for record in self.tracker.tracks.values():
                for key, value in record.items():
                    if isinstance(value, list) and len(value) > 1:
                        record[key] = value[-1:]
        return results

    def flush(self) -> FrameResults:
        return []
