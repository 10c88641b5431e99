"""Streaming video instance segmentation: frames in, tracked masks out.

One adapter per kind of model turns the model's test-time ``predict`` into
a stream API that never needs the video length and whose memory is the
tracker's, not the frames'::

    seg = VideoSegmenter.from_model(model)   # model from init_vis_model
    seg.reset()
    for frame in frames:                     # BGR uint8 arrays or paths
        for result in seg.push(frame):       # FrameResult, once final
            ...
    results, summaries = seg.finish()        # {id: TrackSummary}

Adapters are looked up by the model's class (its MRO), see
:func:`register_segmenter`. After :meth:`VideoSegmenter.finish` the stream
is closed: :meth:`~VideoSegmenter.push` and ``finish`` raise
:class:`StreamEndedError` until :meth:`~VideoSegmenter.reset` starts the
next video.
"""
import os
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple, Type

import numpy as np
import torch
import torch.nn as nn
from mmdet.models.trackers import MaskTrackRCNNTracker
from mmdet.models.vis import MaskTrackRCNN
from mmengine.dataset import pseudo_collate
from mmengine.model import is_model_wrapper

from ..models.trackers import TrackSummary, VISTrackerBase
from ..models.vis.stc import STC
from .frame_result import FrameResult
from .frame_source import FrameSizeError, read_frame
from .result_track_summaries import ResultTrackSummaries
from .stream_pipeline import build_stream_pipeline, stream_inputs

#: Model class -> adapter class; filled by :func:`register_segmenter`.
SEGMENTER_REGISTRY: Dict[type, Type['VideoSegmenter']] = dict()


def register_segmenter(*model_classes: type):
    """Class decorator registering a :class:`VideoSegmenter` adapter for
    ``model_classes`` (and their subclasses without an adapter of their
    own)::

        @register_segmenter(CiCo)
        class ClipVideoSegmenter(VideoSegmenter):
            ...
    """
    if not model_classes:
        raise TypeError('register_segmenter needs at least one model class')

    def register(segmenter_cls: Type['VideoSegmenter']):
        if not (isinstance(segmenter_cls, type)
                and issubclass(segmenter_cls, VideoSegmenter)):
            raise TypeError(f'{segmenter_cls!r} is not a VideoSegmenter')
        for model_cls in model_classes:
            known = SEGMENTER_REGISTRY.get(model_cls)
            if known is not None and known is not segmenter_cls:
                raise KeyError(f'{model_cls.__name__} already has the '
                               f'segmenter {known.__name__}')
            SEGMENTER_REGISTRY[model_cls] = segmenter_cls
        return segmenter_cls

    return register


class StreamEndedError(RuntimeError):
    """A frame was pushed (or ``finish()`` called again) after
    ``finish()`` ended the video and before ``reset()``."""


def tensor_bytes(obj) -> int:
    """Bytes of all tensors in nested dicts, lists, tuples and objects with
    ``__slots__`` (e.g. :class:`TrackRecord`)."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    slots = getattr(type(obj), '__slots__', ())
    return sum(tensor_bytes(getattr(obj, s, None)) for s in slots)


class VideoSegmenter(metaclass=ABCMeta):
    """Base adapter: a VIS model as a frame-stream API.

    Subclasses implement :meth:`_push` (one checked frame) and
    :meth:`_finish`; :meth:`push` and :meth:`finish` around them keep the
    stream's state (a video is open from :meth:`reset` to :meth:`finish`),
    and the test pipeline, frame checks, tracker access and track
    summaries are shared.

    Args:
        model (nn.Module): A video model from :func:`init_vis_model`
            (with ``cfg`` and a ``tracker``), in eval mode on any device.

    Attributes:
        frame_index (int): Index the next pushed frame gets.
        frame_shape (tuple[int, int], optional): (H, W) of the stream.
    """

    def __init__(self, model: nn.Module) -> None:
        if is_model_wrapper(model):
            model = model.module
        if getattr(model, 'cfg', None) is None:
            raise ValueError(f'{type(model).__name__} has no .cfg; build it '
                             'with mmvis_clip.apis.init_vis_model')
        if getattr(model, 'tracker', None) is None:
            raise ValueError(f'{type(model).__name__} has no tracker')
        self.model = model
        self.pipeline = build_stream_pipeline(model.cfg)
        self.reset()

    @classmethod
    def from_model(cls, model: nn.Module, **kwargs) -> 'VideoSegmenter':
        """The registered adapter for ``model``'s class.

        Raises:
            TypeError: If no adapter is registered for the class or its
                bases.
        """
        module = model.module if is_model_wrapper(model) else model
        for klass in type(module).__mro__:
            if klass in SEGMENTER_REGISTRY:
                return SEGMENTER_REGISTRY[klass](module, **kwargs)
        known = sorted(k.__name__ for k in SEGMENTER_REGISTRY)
        raise TypeError(f'no VideoSegmenter for {type(module).__name__}; '
                        f'registered models: {known}')

    @property
    def tracker(self):
        """The model's tracker."""
        return self.model.tracker

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.model.parameters()).device

    def reset(self) -> None:
        """Start a new video: forget the tracks and the frame count."""
        self.frame_index = 0
        self.frame_shape: Optional[Tuple[int, int]] = None
        self.finished = False
        self.tracker.reset()

    def _check_open(self, call: str) -> None:
        """Refuse ``call`` once :meth:`finish` has ended the video."""
        if self.finished:
            raise StreamEndedError(
                f'{type(self).__name__}.{call}: the video ended with '
                f'finish() after {self.frame_index} frames; call reset() '
                'to start the next video')

    def _read(self, frame) -> np.ndarray:
        """Read and check one frame; all frames of a video share a size."""
        image = read_frame(frame)
        shape = image.shape[:2]
        if self.frame_shape is None:
            self.frame_shape = shape
        elif shape != self.frame_shape:
            name = os.fspath(frame) if isinstance(
                frame, (str, os.PathLike)) else 'frame'
            raise FrameSizeError(
                f'{name} (index {self.frame_index}) is {shape[1]}x{shape[0]}'
                f' but the video is {self.frame_shape[1]}x'
                f'{self.frame_shape[0]}; call reset() between videos')
        return image

    def _prepare(self, frames: Sequence[np.ndarray],
                 frame_ids: Sequence[int]) -> dict:
        """The model's batch for ``frames`` (test pipeline + collate)."""
        return pseudo_collate(
            [self.pipeline(stream_inputs(frames, frame_ids))])

    def _run_model(self, data: dict):
        """``model.test_step`` (data pre-processor, then predict) on one
        collated sample; returns its ``TrackDataSample``."""
        with torch.no_grad():
            return self.model.test_step(data)[0]

    def push(self, frame) -> List[FrameResult]:
        """Feed the next frame of the video.

        Args:
            frame (np.ndarray | str): (H, W, 3) uint8 BGR array or an image
                path.

        Returns:
            list[FrameResult]: The frames whose results became final (in
            frame order), possibly none.

        Raises:
            StreamEndedError: After :meth:`finish`, until :meth:`reset`.
        """
        self._check_open('push')
        return self._push(self._read(frame))

    def finish(self) -> Tuple[List[FrameResult], Dict[int, TrackSummary]]:
        """End the video; the stream then needs :meth:`reset`.

        Returns:
            tuple: The remaining :class:`FrameResult` s and the
            :class:`TrackSummary` (majority-vote label, mean score, number
            of observations) of every track id not yet returned by
            :meth:`pop_finished_summaries`.

        Raises:
            StreamEndedError: If the video already ended.
        """
        self._check_open('finish')
        self.finished = True
        return self._finish()

    @abstractmethod
    def _push(self, image: np.ndarray) -> List[FrameResult]:
        """Process the next frame (checked by :meth:`_read`, the size of
        the stream); returns what :meth:`push` returns."""

    @abstractmethod
    def _finish(self) -> Tuple[List[FrameResult], Dict[int, TrackSummary]]:
        """End the video; returns what :meth:`finish` returns."""

    @abstractmethod
    def pop_finished_summaries(self) -> Dict[int, TrackSummary]:
        """Return and forget the summaries of tracks that ended (left the
        tracker's memory); call it now and then on endless streams so that
        the kept summaries stay bounded."""

    def state_size(self) -> Dict[str, int]:
        """Size of the state kept between frames: ``num_tracks`` (in the
        tracker's memory), ``tensor_bytes`` (their stored tensors) and
        ``num_finished`` (summaries of ended tracks not yet popped)."""
        tracks = getattr(self.tracker, 'tracks', {})
        return dict(
            num_tracks=len(tracks),
            tensor_bytes=tensor_bytes(tracks),
            num_finished=len(getattr(self.tracker, 'finished_summaries',
                                     {})))


@register_segmenter(STC, MaskTrackRCNN)
class FrameVideoSegmenter(VideoSegmenter):
    """Adapter for online frame-by-frame models (STC, MaskTrack R-CNN).

    Each pushed frame goes through the config's test pipeline as a
    one-frame video with ``frame_id`` = its index in the stream (0 resets
    the model's tracker, as in the test loop) and ``model.test_step``; its
    result is final at once, so :meth:`push` returns exactly one
    :class:`FrameResult`.

    Track summaries come from the tracker when it keeps them
    (:class:`VISTrackerBase`, e.g. STC's) and are otherwise counted from the
    emitted results (:class:`ResultTrackSummaries`, e.g. for MaskTrack
    R-CNN), retiring an id when the tracker drops it.

    mmdet's ``MaskTrackRCNNTracker`` appends every observation (box,
    mask, RoI features, ...) of a track to lists but only ever reads the
    latest entry; the lists are cut to that entry after each frame, which
    changes no output and keeps its memory bounded.
    """

    #: Trackers that only read the latest entry of their per-track lists.
    LATEST_ONLY_TRACKERS = (MaskTrackRCNNTracker, )

    def reset(self) -> None:
        super().reset()
        self._summaries = None if isinstance(
            self.tracker, VISTrackerBase) else ResultTrackSummaries()

    def _push(self, image: np.ndarray) -> List[FrameResult]:
        sample = self._run_model(
            self._prepare([image], [self.frame_index]))
        result = FrameResult.from_instances(
            self.frame_index, sample[0].pred_track_instances,
            image.shape[:2])
        self._after_frame(result)
        self.frame_index += 1
        return [result]

    def _after_frame(self, result: FrameResult) -> None:
        tracker = self.tracker
        if isinstance(tracker, self.LATEST_ONLY_TRACKERS):
            for track in tracker.tracks.values():
                for key, value in track.items():
                    if isinstance(value, list) and len(value) > 1:
                        track[key] = value[-1:]
        if self._summaries is not None:
            self._summaries.observe(result)
            self._summaries.retire(tracker.tracks.keys())

    def _finish(self) -> Tuple[List[FrameResult], Dict[int, TrackSummary]]:
        if self._summaries is None:
            return [], self.tracker.track_summaries()
        return [], self._summaries.summaries()

    def pop_finished_summaries(self) -> Dict[int, TrackSummary]:
        if self._summaries is None:
            return self.tracker.pop_finished_summaries()
        return self._summaries.pop_finished()

    def state_size(self) -> Dict[str, int]:
        size = super().state_size()
        if self._summaries is not None:
            size['num_finished'] = len(self._summaries.finished)
        return size
