"""Video instance segmentation models."""
from .stc import STC

__all__ = ['STC']
