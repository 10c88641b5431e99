"""Object textures and video backgrounds (BGR ``uint8`` images).

Object textures are functions of the object's own coordinates (origin at
its centre, axes rotated with it), so a texture moves and turns with its
object. Backgrounds are static per video and have a low saturation so that
objects stand out without being trivially separable by colour.
"""
from typing import Dict, Tuple

import cv2
import numpy as np

OBJECT_TEXTURES = ('solid', 'stripes', 'checker', 'diagonal', 'dots',
                   'gradient')
BACKGROUND_KINDS = ('noise', 'gradient', 'stripes')


def hsv_to_bgr(hue: float, saturation: float, value: float) -> np.ndarray:
    """Convert one HSV colour (all in [0, 1]) to a BGR ``uint8`` (3,)."""
    hsv = np.array([[[hue * 179.0, saturation * 255.0, value * 255.0]]])
    return cv2.cvtColor(np.round(hsv).astype(np.uint8), cv2.COLOR_HSV2BGR)[0,
                                                                           0]


def sample_object_colors(
        rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Two saturated, clearly different BGR colours of one object."""
    hue = rng.uniform(0, 1)
    color_a = hsv_to_bgr(hue, rng.uniform(0.6, 1.0), rng.uniform(0.75, 1.0))
    color_b = hsv_to_bgr((hue + rng.uniform(0.3, 0.7)) % 1.0,
                         rng.uniform(0.5, 1.0), rng.uniform(0.2, 0.5))
    return color_a, color_b


def texture_colors(texture: str, u: np.ndarray, v: np.ndarray,
                   params: Dict) -> np.ndarray:
    """Colours of texture pixels.

    Args:
        texture (str): One of :data:`OBJECT_TEXTURES`.
        u (np.ndarray): (N,) pixel coordinates along the object's x axis,
            relative to its centre.
        v (np.ndarray): (N,) same along the object's y axis.
        params (dict): ``color_a``/``color_b`` (BGR ``uint8`` (3,)),
            ``period`` (pattern period in pixels) and ``size`` (object
            radius in pixels).

    Returns:
        np.ndarray: (N, 3) ``uint8`` BGR colours.
    """
    color_a = params['color_a'].astype(np.float64)
    color_b = params['color_b'].astype(np.float64)
    period = params['period']
    if texture == 'solid':
        weight = np.zeros_like(u)
    elif texture == 'stripes':
        weight = np.floor(u / period) % 2
    elif texture == 'checker':
        weight = (np.floor(u / period) + np.floor(v / period)) % 2
    elif texture == 'diagonal':
        weight = np.floor((u + v) / period) % 2
    elif texture == 'dots':
        cell_u = u / period - np.floor(u / period) - 0.5
        cell_v = v / period - np.floor(v / period) - 0.5
        weight = (cell_u**2 + cell_v**2 < 0.3**2).astype(np.float64)
    elif texture == 'gradient':
        weight = np.clip((u / params['size'] + 1.0) / 2.0, 0.0, 1.0)
    else:
        raise ValueError(f'unknown texture {texture!r}; expected one of '
                         f'{OBJECT_TEXTURES}')
    weight = weight[:, None]
    colors = color_a * (1.0 - weight) + color_b * weight
    return np.round(colors).astype(np.uint8)


def paint_texture(image: np.ndarray, mask: np.ndarray, texture: str,
                  center: Tuple[float,
                                float], angle: float, params: Dict) -> None:
    """Paint ``texture`` into ``image`` (H, W, 3) where ``mask`` (H, W) is
    true, in place. ``center`` is ``(x, y)`` and ``angle`` the object's
    rotation in radians."""
    ys, xs = np.nonzero(mask)
    dx, dy = xs - center[0], ys - center[1]
    cos, sin = np.cos(angle), np.sin(angle)
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    image[ys, xs] = texture_colors(texture, u, v, params)


def render_background(kind: str, canvas_hw: Tuple[int, int],
                      rng: np.random.Generator) -> np.ndarray:
    """A random background of ``kind`` (one of :data:`BACKGROUND_KINDS`).

    Returns:
        np.ndarray: (H, W, 3) ``uint8`` BGR image.
    """
    height, width = canvas_hw

    def dull_color():
        return hsv_to_bgr(
            rng.uniform(0, 1), rng.uniform(0.0, 0.35),
            rng.uniform(0.25, 0.75)).astype(np.float64)

    if kind == 'noise':
        cell = int(rng.integers(8, 24))
        coarse = rng.uniform(-1, 1, (height // cell + 2, width // cell + 2, 1))
        smooth = cv2.resize(
            coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        smooth = smooth.reshape(height, width, 1)
        base, other = dull_color(), dull_color()
        weight = np.clip((smooth + 1.0) / 2.0, 0.0, 1.0)
        image = base * (1.0 - weight) + other * weight
    elif kind == 'gradient':
        direction = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        proj = xs * np.cos(direction) + ys * np.sin(direction)
        weight = (proj - proj.min()) / max(np.ptp(proj), 1e-6)
        image = dull_color() * (1.0 - weight[..., None]) + \
            dull_color() * weight[..., None]
    elif kind == 'stripes':
        direction = rng.uniform(0, np.pi)
        period = rng.uniform(10, 30)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
        proj = xs * np.cos(direction) + ys * np.sin(direction)
        weight = 0.5 + 0.5 * np.sin(2 * np.pi * proj / period)
        image = dull_color() * (1.0 - weight[..., None]) + \
            dull_color() * weight[..., None]
    else:
        raise ValueError(f'unknown background {kind!r}; expected one of '
                         f'{BACKGROUND_KINDS}')
    return np.clip(np.round(image), 0, 255).astype(np.uint8)
