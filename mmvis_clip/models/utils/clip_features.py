"""Moving between per-frame feature maps and clip feature cubes.

A clip model runs the backbone and the FPN on the ``B * T`` frames of ``B``
clips as one image batch (frame-major inside each clip) and then works on
cubes ``(B, C, T, H, W)``, the layout of ``torch.nn.Conv3d``.
"""
from typing import Sequence, Tuple

import torch.nn as nn
from torch import Tensor


def frames_to_clips(feats: Sequence[Tensor],
                    num_frames: int) -> Tuple[Tensor, ...]:
    """Stack per-frame maps into clip cubes.

    Args:
        feats (Sequence[Tensor]): Per level, (B * T, C, H, W) with the T
            frames of a clip consecutive.
        num_frames (int): T.

    Returns:
        tuple[Tensor]: Per level, (B, C, T, H, W).
    """
    cubes = []
    for feat in feats:
        if feat.size(0) % num_frames:
            raise ValueError(f'{feat.size(0)} frames do not split into clips '
                             f'of {num_frames}')
        b_t, c, h, w = feat.shape
        cubes.append(
            feat.view(b_t // num_frames, num_frames, c, h, w).transpose(1, 2))
    return tuple(cubes)


def clips_to_frames(cube: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B * T, C, H, W), frames of a clip consecutive."""
    b, c, t, h, w = cube.shape
    return cube.transpose(1, 2).reshape(b * t, c, h, w)


def per_frame(module: nn.Module, cube: Tensor) -> Tensor:
    """Apply a 2D module to every frame of a cube.

    Args:
        module (nn.Module): Maps (N, C, H, W) to (N, C', H', W').
        cube (Tensor): (B, C, T, H, W).

    Returns:
        Tensor: (B, C', T, H', W').
    """
    out = module(clips_to_frames(cube))
    return frames_to_clips([out], cube.size(2))[0]


def temporal_mean(cube: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B, C, H, W): one map per clip.

    Used where a clip model predicts one value per object per clip (class,
    mask parameters, tracking embedding) from a tower that keeps T frames;
    on a clip of identical frames it is the identity, so a 3D model
    inflated from a 2D one gives the 2D output.
    """
    return cube.mean(dim=2)
