"""Streaming video instance segmentation: frames in, tracked masks out.

The stream API over the models' one inference contract
(:class:`~mmvis_clip.models.vis.video_stream.VideoStreamMixin`): it never
needs the video length, and its memory is the tracker's, not the frames'::

    seg = VideoSegmenter(model)              # model from init_vis_model
    seg.reset()
    for frame in frames:                     # BGR uint8 arrays or paths
        for result in seg.push(frame):       # FrameResult, once final
            ...
    results, summaries = seg.finish()        # {id: TrackSummary}

After :meth:`VideoSegmenter.finish` the stream is closed:
:meth:`~VideoSegmenter.push` and ``finish`` raise :class:`StreamEndedError`
until :meth:`~VideoSegmenter.reset` starts the next video.

A model holds the state of one stream (its tracker's tracks, a clip
model's frames): :meth:`~VideoSegmenter.reset` (also run on creation)
makes the segmenter the owner of its model's state, and a segmenter whose
model another one has taken over raises :class:`SharedModelError`. A model
in train mode (batch norm with batch statistics, dropout) gives other
results than the evaluated one: it raises :class:`TrainModeError`. Both
are real checks, kept under ``python -O``.
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
    """A frame was pushed (or ``finish()`` called again) after
    ``finish()`` ended the video and before ``reset()``."""


class SharedModelError(RuntimeError):
    """A segmenter was used after another one took over its model's
    stream state (by being created on the same model, or by ``reset()``):
    one model can run one stream at a time."""


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

    Each pushed frame goes through the config's test pipeline as a
    one-frame video with ``frame_id`` = its index in the stream, the
    model's data pre-processor and ``step``; :meth:`push` returns the
    frames that became final (STC and MaskTrack R-CNN: the frame itself;
    CiCo: the frames of each completed clip), :meth:`finish` the rest.
    Every returned frame is counted in its tracks' :class:`TrackSummary`
    (:class:`TrackVotes`, the rule of ``tools/test.py``'s results).

    Inference stages (:mod:`~mmvis_clip.models.utils.inference_stages`):
    the test pipeline, collation and data pre-processor are marked
    ``'pre-processing'``, the model's ``step`` and ``flush`` ``'model'``
    (its own finer stages inside).

    Args:
        model (nn.Module): A video model from :func:`init_vis_model`
            (with ``cfg`` and a ``tracker``), in eval mode on any device;
            one model serves one segmenter at a time (see the module
            doc).

    Raises:
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
        """Start a new video: forget the tracks and the frame count, and
        take over the model's stream state (another segmenter on the same
        model then raises :class:`SharedModelError`)."""
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
        """Refuse ``call`` once :meth:`finish` has ended the video, or when
        another segmenter owns the model."""
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
        """Data pre-processor and the model's ``step`` on one collated
        frame; returns the final ``(frame_id, instances)`` pairs."""
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
            list[FrameResult]: The frames whose results became final (in
            frame order), possibly none.

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
            tuple: The remaining :class:`FrameResult` s and the
            :class:`TrackSummary` (majority-vote label, mean score, number
            of frames) of every track id not yet returned by
            :meth:`pop_finished_summaries`, by id.

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
        """Counted ids the tracker no longer holds: no later frame can
        have them (a clip model's held frames only have tracks in
        memory)."""
        return [i for i in self.votes.labels if i not in self.tracker.tracks]

    def pop_finished_summaries(self) -> Dict[int, TrackSummary]:
        """Return and forget the summaries of tracks that ended (left the
        tracker's memory), by id; call it now and then on endless streams
        so that the kept counts stay bounded."""
        self._check_owner('pop_finished_summaries')
        return dict(sorted(self.votes.pop(self._ended_ids()).items()))

    def state_size(self) -> Dict[str, int]:
        """Size of the state kept between frames: ``num_tracks`` (in the
        tracker's memory), ``tensor_bytes`` (their stored tensors) and
        ``num_finished`` (ended tracks whose summaries are not yet
        popped)."""
        tracks = self.tracker.tracks
        return dict(
            num_tracks=len(tracks),
            tensor_bytes=tensor_bytes(tracks),
            num_finished=len(self._ended_ids()))
