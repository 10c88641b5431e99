"""Synthetic video instance segmentation data (see ``generator.py``)."""
from .classes import (SYNTHETIC_VIS_CLASS_TEXTURES, SYNTHETIC_VIS_CLASSES,
                      synthetic_vis_categories)
from .generator import (DEFAULT_NUM_FRAMES, DEFAULT_NUM_VIDEOS, DEFAULT_SIZE,
                        make_synthetic_vis, num_valid_videos)
from .scene import (MIN_VISIBLE_AREA, SCENE_PRESETS, SceneInstance,
                    ScenePreset, VideoScene, render_frame, render_video,
                    sample_rendered_video, sample_scene)

__all__ = [
    'SYNTHETIC_VIS_CLASSES', 'SYNTHETIC_VIS_CLASS_TEXTURES',
    'synthetic_vis_categories', 'DEFAULT_NUM_FRAMES', 'DEFAULT_NUM_VIDEOS',
    'DEFAULT_SIZE', 'make_synthetic_vis', 'num_valid_videos',
    'MIN_VISIBLE_AREA', 'SCENE_PRESETS', 'ScenePreset', 'SceneInstance',
    'VideoScene', 'render_frame', 'render_video', 'sample_rendered_video',
    'sample_scene'
]
