"""Per-frame maps ``(B * T, C, H, W)`` <-> clip cubes ``(B, C, T, H, W)``."""
from typing import Sequence, Tuple

import torch.nn as nn
from torch import Tensor


def frames_to_clips(feats: Sequence[Tensor],
                    num_frames: int) -> Tuple[Tensor, ...]:
    """Per level, (B * T, C, H, W) (T frames of a clip consecutive) ->
    (B, C, T, H, W); ``num_frames`` is T."""
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
    """Apply a 2D module to every frame: (B, C, T, H, W) ->
    (B, C', T, H', W')."""
    out = module(clips_to_frames(cube))
    return frames_to_clips([out], cube.size(2))[0]


def temporal_mean(cube: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B, C, H, W): one map per clip."""
    return cube.mean(dim=2)
