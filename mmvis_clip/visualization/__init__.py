"""Drawing tracked instances and writing them as videos."""
from .video_render_hook import VideoRenderHook
from .video_renderer import AtomicVideoWriter, VideoRenderer, render_video
from .vis_local_visualizer import VISLocalVisualizer, instance_color

__all__ = [
    'AtomicVideoWriter', 'VISLocalVisualizer', 'VideoRenderHook',
    'VideoRenderer', 'instance_color', 'render_video'
]
