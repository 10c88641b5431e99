"""3D convolution over clips whose time axis is padded by edge repeat."""
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor


class ReplicateTimeConv3d(nn.Conv3d):
    """``nn.Conv3d`` for clips that repeats the edge frames in time.

    Takes clips of shape (N, C, T, H, W) (or unbatched (C, T, H, W)) and
    is built with ``nn.Conv3d``'s arguments. The time part ``pt`` of
    ``padding`` is applied by repeating the first and the last frame ``pt``
    times (``F.pad(mode='replicate')`` on T only); the spatial part
    ``(ph, pw)`` is zero padding as in ``nn.Conv3d``. Output shapes are
    those of ``nn.Conv3d`` with the same arguments, and so are the
    parameters (``weight`` of shape (O, I / groups, kt, kh, kw)), so a
    state dict moves freely between the two.

    Why: CiCo initialises its 3D convs from COCO 2D convs by repeating the
    2D kernel along time with weights summing to 1 (see
    :func:`~mmvis_clip.models.utils.conv_inflation.inflate_conv_weight`).
    On a clip of identical frames, such a conv then gives the 2D output at
    *every* frame only if the frames beyond the clip's edges look like the
    edge frames; with zero time padding the first and last frames' responses
    would lose the taps that fall outside the clip (2/3 of the response for
    a 3-tap mean kernel). Edge repeat also matches the clip sampler, which
    pads a clip running past the video's ends by repeating the edge frame.

    Only ``padding_mode='zeros'`` (for space) is accepted, and ``padding``
    must be an int or a triple (a string such as ``'same'`` is refused:
    its time part could not be told apart).

    Registered as ``'ReplicateTimeConv3d'`` in mmdet's ``MODELS`` and in
    mmengine's root ``MODELS``: mmcv's ``build_conv_layer`` (used by
    ``ConvModule(conv_cfg=dict(type='ReplicateTimeConv3d'))``) looks the
    type up in the registry of the current default scope, which is the root
    registry when no default scope is set (mmcv registers ``Conv3d`` there
    for the same reason).
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
        """int: Frames repeated before the first and after the last frame.
        """
        return self.padding[0]

    def forward(self, x: Tensor) -> Tensor:
        """Convolve a clip.

        Args:
            x (Tensor): Of shape (N, C, T, H, W) or (C, T, H, W).

        Returns:
            Tensor: Of shape (N, O, T', H', W') (or (O, T', H', W')), the
            sizes of ``nn.Conv3d`` with the same arguments.
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
