"""Streaming video instance segmentation: frames in, tracked masks out::

    seg = VideoSegmenter(model)              # model from init_vis_model
    seg.reset()
    for frame in frames:                     # BGR uint8 arrays or paths
        for result in seg.push(frame):       # FrameResult, once final
            ...
    results, summaries = seg.finish()        # {id: TrackSummary}

One model runs one stream at a time; ``reset()`` starts the next video
(``docs/inference.md``).
"""
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate
from mmengine.model import is_model_wrapper

from ..models.utils.inference_stages import inference_stage
from ..models.vis.video_stream import (FrameModelStream, FrameResults,
                                       VideoStreamMixin)
from ..structures.frame_result import FrameResult
from ..structures.track_votes import TrackSummary, TrackVotes
from ..utils.user_errors import UserError
from .frame_source import FrameSizeError, read_frame
from .stream_pipeline import build_stream_pipeline, stream_inputs


class StreamEndedError(RuntimeError):
    """``push()`` or ``finish()`` after ``finish()``, before ``reset()``."""


class SharedModelError(RuntimeError):
    """A segmenter was used after another one took over its model."""


class TrainModeError(UserError):
    """The model (or one of its modules) is in train mode."""


#: Attribute of a model naming the segmenter that owns its stream state.
OWNER_ATTR = '_video_segmenter_owner'


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


class VideoSegmenter:
    """A VIS model (STC, CiCo, MaskTrack R-CNN) as a frame-stream API.

    :meth:`push` returns the frames that became final (STC: the frame;
    CiCo: the frames of each completed clip), :meth:`finish` the rest;
    each is counted in its tracks' :class:`TrackSummary`.

    Args:
        model (nn.Module): A video model from :func:`init_vis_model`, in
            eval mode, on any device.

    Raises:
        ValueError: If the model has no ``cfg`` or no tracker.
        TrainModeError: If the model (or a module of it) is in train mode,
            here or at a later :meth:`push`.

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
        # checked at every push (a list: 10 times faster than the walk)
        self._named_modules = [(name or 'model', module)
                               for name, module in model.named_modules()]
        self._check_eval_mode('__init__')
        self.stream = model if isinstance(
            model, VideoStreamMixin) else FrameModelStream(model)
        self.pipeline = build_stream_pipeline(model.cfg)
        self._token = object()  # identifies this segmenter as an owner
        self.reset()

    @property
    def tracker(self):
        """The model's tracker."""
        return self.model.tracker

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.model.parameters()).device

    def reset(self) -> None:
        """Start a new video and take over the model's stream state."""
        self.frame_index = 0
        self.frame_shape: Optional[Tuple[int, int]] = None
        self.finished = False
        self.votes = TrackVotes()
        self.stream.init_state()
        setattr(self.model, OWNER_ATTR, self._token)

    def _check_eval_mode(self, call: str) -> None:
        """Refuse a model with a module in train mode."""
        if not any(module.training for _, module in self._named_modules):
            return
        training = [
            name for name, module in self._named_modules if module.training
        ]
        if training:
            which = ('model.training is True' if training[0] == 'model'
                     else f'{len(training)} of its modules, e.g. '
                     f'{training[0]}, are in train mode')
            raise TrainModeError(
                f'{type(self).__name__}.{call}: the model '
                f'({type(self.model).__name__}) is in train mode ({which}); '
                'call model.eval() first: in train mode batch norm and '
                'dropout give other results than the evaluated model '
                '(init_vis_model returns it in eval mode)')

    def _check_owner(self, call: str) -> None:
        """Refuse ``call`` when another segmenter took over the model."""
        if getattr(self.model, OWNER_ATTR, None) is not self._token:
            raise SharedModelError(
                f'{type(self).__name__}.{call}: another VideoSegmenter took '
                f'over this {type(self.model).__name__} model (created on it '
                'or reset() after this one), so the tracks of this video '
                'are gone; run one stream per model at a time: build a '
                'model per stream with init_vis_model, or finish() one '
                'video and reset() before the next')

    def _check_open(self, call: str) -> None:
        """Refuse ``call`` after :meth:`finish` or for a lost model."""
        self._check_owner(call)
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
        with inference_stage('pre-processing'):
            return pseudo_collate(
                [self.pipeline(stream_inputs(frames, frame_ids))])

    def _run_model(self, data: dict) -> FrameResults:
        """Pre-processor and ``step``: the final ``(frame_id, instances)``."""
        with torch.no_grad():
            with inference_stage('pre-processing'):
                data = self.model.data_preprocessor(data, False)
            video = data['data_samples'][0]
            with inference_stage('model'):
                return self.stream.step(data['inputs'],
                                        [video[t] for t in range(len(video))])

    def _results(self, final: FrameResults) -> List[FrameResult]:
        results = []
        for frame_id, instances in final:
            result = FrameResult.from_instances(frame_id, instances,
                                                self.frame_shape)
            self.votes.add(result.instances_id, result.labels, result.scores)
            results.append(result)
        return results

    def push(self, frame) -> List[FrameResult]:
        """Feed the next frame of the video.

        Args:
            frame (np.ndarray | str): (H, W, 3) uint8 BGR array or an image
                path.

        Returns:
            list[FrameResult]: The frames final now, in order; maybe none.

        Raises:
            StreamEndedError: After :meth:`finish`, until :meth:`reset`.
            SharedModelError: Another segmenter took over the model.
            TrainModeError: The model is in train mode.
        """
        self._check_open('push')
        self._check_eval_mode('push')
        image = self._read(frame)
        final = self._run_model(self._prepare([image], [self.frame_index]))
        self.frame_index += 1
        return self._results(final)

    def finish(self) -> Tuple[List[FrameResult], Dict[int, TrackSummary]]:
        """End the video; the stream then needs :meth:`reset`.

        Returns:
            tuple: The remaining :class:`FrameResult` s and, by id, the
            :class:`TrackSummary` of every track not yet popped.

        Raises:
            StreamEndedError: If the video already ended.
            SharedModelError: Another segmenter took over the model.
            TrainModeError: The model is in train mode.
        """
        self._check_open('finish')
        self._check_eval_mode('finish')
        self.finished = True
        with torch.no_grad():
            with inference_stage('model'):
                final = self.stream.flush()
            results = self._results(final)
        return results, dict(sorted(self.votes.summaries().items()))

    def _ended_ids(self) -> List[int]:
        """Counted ids the tracker no longer holds."""
        return [i for i in self.votes.labels if i not in self.tracker.tracks]

    def pop_finished_summaries(self) -> Dict[int, TrackSummary]:
        """Return and forget, by id, the summaries of tracks that left the
        tracker's memory (bounds the counts on endless streams)."""
        self._check_owner('pop_finished_summaries')
        return dict(sorted(self.votes.pop(self._ended_ids()).items()))

    def state_size(self) -> Dict[str, int]:
        """State kept between frames: ``num_tracks``, ``tensor_bytes`` (of
        the tracks) and ``num_finished`` (summaries not yet popped)."""
        tracks = self.tracker.tracks
        return dict(
            num_tracks=len(tracks),
            tensor_bytes=tensor_bytes(tracks),
            num_finished=len(self._ended_ids()))
