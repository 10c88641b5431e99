"""Deprecated: moved to :mod:`mmvis_clip.structures.video_results`."""
from mmvis_clip.utils.deprecation import alias_module

alias_module(__name__, 'mmvis_clip.structures.video_results')
