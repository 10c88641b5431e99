"""Object trajectories: the centre of an object in every frame.

Motion modes, at constant speed: ``bounce`` stays inside the frame,
``excursion`` leaves it completely and comes back, ``drift`` moves in a
straight line (it may leave), ``cross`` enters from outside and crosses.
``time_scale`` s < 1 slows a path down around its anchor frame.
"""
from typing import Tuple

import numpy as np

MOTION_MODES = ('bounce', 'excursion', 'drift', 'cross')


def _reflect(position: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fold positions into ``[low, high]`` as a ball bouncing between two
    walls would be."""
    span = high - low
    if span <= 0:
        return np.full_like(position, (low + high) / 2)
    phase = np.mod(position - low, 2 * span)
    return low + np.where(phase > span, 2 * span - phase, phase)


def _times(num_frames: int, anchor: float, time_scale: float) -> np.ndarray:
    """(L, 1) times of the frames, ``anchor + time_scale (t - anchor)``."""
    steps = np.arange(num_frames, dtype=np.float64)[:, None]
    if time_scale == 1:
        return steps
    return anchor + time_scale * (steps - anchor)


def sample_trajectory(rng: np.random.Generator,
                      mode: str,
                      num_frames: int,
                      canvas_hw: Tuple[int, int],
                      size: float,
                      time_scale: float = 1.0) -> np.ndarray:
    """Sample the centres of one object.

    Args:
        rng (np.random.Generator): Random generator.
        mode (str): One of :data:`MOTION_MODES`.
        num_frames (int): Number of frames ``L``.
        canvas_hw (tuple[int, int]): ``(height, width)`` of the frames.
        size (float): Object radius in pixels.
        time_scale (float): Speed factor around the middle frame (see the
            module docstring); the same random numbers are drawn.

    Returns:
        np.ndarray: (L, 2) float centres ``(x, y)`` in pixels.
    """
    height, width = canvas_hw
    steps = _times(num_frames, (num_frames - 1) / 2, time_scale)
    direction = rng.uniform(0, 2 * np.pi)
    unit = np.array([np.cos(direction), np.sin(direction)])
    if mode in ('bounce', 'excursion'):
        margin = size if mode == 'bounce' else -2 * size
        speed = rng.uniform(1.5, 4.5) if mode == 'bounce' else \
            rng.uniform(6.0, 12.0)
        start = np.array([
            rng.uniform(size, max(size, width - size)),
            rng.uniform(size, max(size, height - size))
        ])
        if mode == 'excursion':
            # head for the nearest border (within 45 degrees of its normal)
            nearest = int(
                np.argmin(
                    [start[0], width - start[0], start[1], height - start[1]]))
            axis = nearest // 2  # 0: x, 1: y
            tilt = rng.uniform(-np.pi / 4, np.pi / 4)
            unit = np.zeros(2)
            unit[axis] = np.cos(tilt) * (-1.0 if nearest % 2 == 0 else 1.0)
            unit[1 - axis] = np.sin(tilt)
        free = start + steps * speed * unit
        return np.stack([
            _reflect(free[:, 0], margin, width - margin),
            _reflect(free[:, 1], margin, height - margin)
        ], 1)
    if mode == 'drift':
        start = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        return start + steps * rng.uniform(2.0, 6.0) * unit
    if mode == 'cross':
        # cross along x from the left (then mirror/transpose for the other
        # three borders); travel = f * (frame span), f > 1 leaves again
        horizontal = bool(rng.integers(2))
        length = width if horizontal else height
        other = height if horizontal else width
        travel = rng.uniform(0.7, 1.4) * (length + 2 * size)
        speed = travel / max(num_frames - 1, 1)
        along = -size - rng.uniform(0, 1.5) * speed + steps[:, 0] * speed
        across = rng.uniform(size, max(size, other - size)) + \
            steps[:, 0] * rng.uniform(-1.0, 1.0)
        if rng.integers(2):
            along = length - along
        xy = [along, across] if horizontal else [across, along]
        return np.stack(xy, 1)
    raise ValueError(f'unknown motion mode {mode!r}; expected one of '
                     f'{MOTION_MODES}')


def sample_pass_through(rng: np.random.Generator,
                        point: np.ndarray,
                        frame_id: int,
                        num_frames: int,
                        time_scale: float = 1.0) -> np.ndarray:
    """A straight line at 4-7 px/frame (times ``time_scale``) that is at
    ``point`` (x, y) in frame ``frame_id``; used to pass an object behind
    another one.

    Returns:
        np.ndarray: (L, 2) float centres ``(x, y)``.
    """
    direction = rng.uniform(0, 2 * np.pi)
    velocity = rng.uniform(4.0, 7.0) * np.array(
        [np.cos(direction), np.sin(direction)])
    steps = _times(num_frames, frame_id, time_scale) - frame_id
    return np.asarray(point, dtype=np.float64) + steps * velocity
