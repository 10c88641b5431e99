"""A frame (2D) model's weights into a clip (3D) model: conv inflation and
CiCo's loading of 2D checkpoints."""
from .cico_checkpoint import load_2d_checkpoint
from .conv_inflation import inflate_conv_weight, inflate_state_dict

__all__ = ['inflate_conv_weight', 'inflate_state_dict', 'load_2d_checkpoint']
