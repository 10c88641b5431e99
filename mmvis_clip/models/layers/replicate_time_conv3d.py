"""3D convolution over clips whose time axis is padded by edge repeat."""
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor


class ReplicateTimeConv3d(nn.Conv3d):
    """``nn.Conv3d`` for clips that pads time by repeating the edge frames.

    Same arguments, parameters (state dicts move freely between the two)
    and output shapes as ``nn.Conv3d``. The time part of ``padding``
    repeats the first and last frame; the spatial part pads with zeros. An
    inflated 2D kernel thus gives the 2D output at every frame of a static
    clip. Registered in mmdet's ``MODELS`` and in mmengine's root
    ``MODELS`` (``ConvModule``'s ``conv_cfg`` looks it up there when no
    default scope is set).

    Raises:
        ValueError: If ``padding`` is a string or ``padding_mode`` is not
            ``'zeros'``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.padding, str):
            raise ValueError(
                'ReplicateTimeConv3d needs an int or a (t, h, w) padding, '
                f'got {self.padding!r}.')
        if self.padding_mode != 'zeros':
            raise ValueError(
                "ReplicateTimeConv3d pads space with zeros (padding_mode="
                f"'zeros'), got padding_mode={self.padding_mode!r}.")

    @property
    def time_padding(self) -> int:
        """int: Frames repeated before the first and after the last."""
        return self.padding[0]

    def forward(self, x: Tensor) -> Tensor:
        """Convolve a clip.

        Args:
            x (Tensor): Of shape (N, C, T, H, W) or (C, T, H, W).

        Returns:
            Tensor: (N, O, T', H', W') or (O, T', H', W'), as ``nn.Conv3d``.
        """
        pt = self.time_padding
        if pt > 0:
            # (w_left, w_right, h_top, h_bottom, t_front, t_back): the
            # replicate mode pads the last three dims, only T is padded.
            x = F.pad(x, (0, 0, 0, 0, pt, pt), mode='replicate')
        return F.conv3d(x, self.weight, self.bias, self.stride,
                        (0, ) + tuple(self.padding[1:]), self.dilation,
                        self.groups)


MODELS.register_module(module=ReplicateTimeConv3d)
MMENGINE_MODELS.register_module(module=ReplicateTimeConv3d)
