from .clip_sampling import ContiguousClipSample
from .image_as_clip import ImageAsClip

__all__ = ['ContiguousClipSample', 'ImageAsClip']
