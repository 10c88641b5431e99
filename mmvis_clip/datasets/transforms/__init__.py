from .clip_sampling import ContiguousClipSample
from .image_as_clip import ImageAsClip
from .mask_random_affine import MaskRandomAffine

__all__ = ['ContiguousClipSample', 'ImageAsClip', 'MaskRandomAffine']
