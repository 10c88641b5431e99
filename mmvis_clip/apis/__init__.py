"""Inference: build a trained model and run it on a stream of frames."""
from ..structures.frame_result import FrameResult
from .frame_reader import DROP_POLICIES, FrameReader, StreamTimeoutError
from .frame_source import (FrameError, FrameSizeError, FrameSource,
                           natural_sort_key, read_frame)
from .inference import check_device, init_vis_model, resolve_device
from .live_frame_source import LiveFrameSource, SourceError, open_frame_source
from .stream_pipeline import build_stream_pipeline
from .video_segmenter import (SharedModelError, StreamEndedError,
                              TrainModeError, VideoSegmenter)

__all__ = [
    'DROP_POLICIES', 'FrameError', 'FrameReader', 'FrameResult',
    'FrameSizeError', 'FrameSource', 'LiveFrameSource', 'SharedModelError',
    'SourceError', 'StreamEndedError', 'StreamTimeoutError',
    'TrainModeError', 'VideoSegmenter', 'build_stream_pipeline',
    'check_device', 'init_vis_model', 'natural_sort_key',
    'open_frame_source', 'read_frame', 'resolve_device'
]
