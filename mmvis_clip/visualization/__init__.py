"""Drawing tracked instances and writing them as videos."""
from .source_time_video_writer import SourceTimeVideoWriter
from .video_codecs import (VIDEO_CODECS, CodecUnavailableError,
                           check_video_codec, video_codec_available)
from .video_render_hook import VideoRenderHook
from .video_renderer import AtomicVideoWriter, VideoRenderer, render_video
from .vis_local_visualizer import VISLocalVisualizer, instance_color

__all__ = [
    'AtomicVideoWriter', 'CodecUnavailableError', 'SourceTimeVideoWriter',
    'VIDEO_CODECS', 'VISLocalVisualizer', 'VideoRenderHook', 'VideoRenderer',
    'check_video_codec', 'instance_color', 'render_video',
    'video_codec_available'
]
