"""Datasets, data converters and transforms for video instance
segmentation."""
from . import transforms  # noqa: F401
from .images_as_pseudo_videos import ImagesAsPseudoVideos
from .ovis_dataset import OVISDataset
from .synthetic_vis_dataset import SyntheticVISDataset
from .vis_video_dataset import VISVideoDataset

__all__ = [
    'ImagesAsPseudoVideos', 'OVISDataset', 'SyntheticVISDataset',
    'VISVideoDataset'
]
