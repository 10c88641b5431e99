"""Video instance segmentation models."""
from .cico import CiCo
from .stc import STC

__all__ = ['CiCo', 'STC']
