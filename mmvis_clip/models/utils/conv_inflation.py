"""Deprecated: moved to :mod:`mmvis_clip.models.inflation.conv_inflation`."""
from mmvis_clip.utils.deprecation import alias_module

alias_module(__name__, 'mmvis_clip.models.inflation.conv_inflation')
