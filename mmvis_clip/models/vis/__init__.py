"""Video instance segmentation models."""
from .cico import CiCo
from .clip_schedule import ClipSchedule
from .stc import STC

__all__ = ['CiCo', 'ClipSchedule', 'STC']
