"""Inference: build a trained model and run it on a stream of frames."""
from .clip_video_segmenter import ClipVideoSegmenter
from .frame_reader import DROP_POLICIES, FrameReader, StreamTimeoutError
from .frame_result import FrameResult
from .frame_source import (FrameError, FrameSizeError, FrameSource,
                           natural_sort_key, read_frame)
from .inference import init_vis_model
from .live_frame_source import LiveFrameSource, SourceError, open_frame_source
from .result_track_summaries import ResultTrackSummaries
from .stream_pipeline import build_stream_pipeline
from .video_segmenter import (SEGMENTER_REGISTRY, FrameVideoSegmenter,
                              StreamEndedError, VideoSegmenter,
                              register_segmenter)

__all__ = [
    'ClipVideoSegmenter', 'DROP_POLICIES', 'FrameError', 'FrameReader',
    'FrameResult', 'FrameSizeError', 'FrameSource', 'FrameVideoSegmenter',
    'LiveFrameSource', 'ResultTrackSummaries', 'SEGMENTER_REGISTRY',
    'SourceError', 'StreamEndedError', 'StreamTimeoutError',
    'VideoSegmenter', 'build_stream_pipeline', 'init_vis_model',
    'natural_sort_key', 'open_frame_source', 'read_frame',
    'register_segmenter'
]
