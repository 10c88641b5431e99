"""Rasterise the class shapes into binary masks.

Every shape is defined by a centre ``(x, y)`` in pixels (sub-pixel, may lie
outside the canvas), a ``size`` (its outer radius in pixels) and a rotation
``angle`` in radians. The same rasterisation gives the painted pixels and
the mask, so a mask is exactly the pixels of the shape. Drawing uses
OpenCV with 4 fractional bits and no anti-aliasing (``cv2.LINE_8``).
"""
from typing import Tuple

import cv2
import numpy as np

_SHIFT = 4  # fractional bits of the OpenCV drawing coordinates
_SCALE = 1 << _SHIFT


def _star_vertices(num_points: int, outer: float, inner: float):
    angles = np.arange(2 * num_points) * np.pi / num_points - np.pi / 2
    radii = np.where(np.arange(2 * num_points) % 2 == 0, outer, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)


def _cross_vertices(half_len: float, half_width: float):
    a, b = half_len, half_width
    return np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b],
                     [b, a], [-b, a], [-b, b], [-a, b], [-a, -b], [-b, -b]])


def shape_polygon(shape: str, size: float) -> np.ndarray:
    """Vertices (N, 2) of a polygonal shape centred at 0, unrotated."""
    if shape == 'square':
        s = 0.8 * size
        return np.array([[-s, -s], [s, -s], [s, s], [-s, s]])
    if shape == 'triangle':
        return _star_vertices(3, 1.1 * size, 0.55 * size)[::2]
    if shape == 'cross':
        return _cross_vertices(size, 0.32 * size)
    if shape == 'star':
        return _star_vertices(5, 1.1 * size, 0.5 * size)
    raise ValueError(f'{shape!r} is not a polygonal shape')


def render_shape_mask(shape: str, center: Tuple[float, float], size: float,
                      angle: float, canvas_hw: Tuple[int, int]) -> np.ndarray:
    """Rasterise one shape.

    Args:
        shape (str): One of ``disc``, ``ring``, ``square``, ``triangle``,
            ``cross``, ``star``.
        center (tuple[float, float]): Centre ``(x, y)`` in pixels.
        size (float): Outer radius in pixels.
        angle (float): Rotation in radians (ignored by discs and rings).
        canvas_hw (tuple[int, int]): ``(height, width)`` of the canvas.

    Returns:
        np.ndarray: bool mask of shape ``(height, width)``; the parts of
        the shape outside the canvas are clipped.
    """
    mask = np.zeros(canvas_hw, dtype=np.uint8)
    cx, cy = center
    fixed_center = (int(round(cx * _SCALE)), int(round(cy * _SCALE)))
    if shape in ('disc', 'ring'):
        cv2.circle(mask, fixed_center, int(round(size * _SCALE)), 1, -1,
                   cv2.LINE_8, _SHIFT)
        if shape == 'ring':
            cv2.circle(mask, fixed_center, int(round(0.55 * size * _SCALE)), 0,
                       -1, cv2.LINE_8, _SHIFT)
        return mask.astype(bool)
    vertices = shape_polygon(shape, size)
    cos, sin = np.cos(angle), np.sin(angle)
    rotated = vertices @ np.array([[cos, sin], [-sin, cos]])
    points = np.round((rotated + [cx, cy]) * _SCALE).astype(np.int32)
    cv2.fillPoly(mask, [points], 1, cv2.LINE_8, _SHIFT)
    return mask.astype(bool)
