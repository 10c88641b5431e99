from .clip_sampling import ContiguousClipSample

__all__ = ['ContiguousClipSample']
