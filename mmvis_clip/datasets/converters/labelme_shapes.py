"""The mask of one LabelMe shape (a shape object of labelme's json)::

    {"label": str, "points": [[x, y], ...], "group_id": int | null,
     "description": str, "shape_type": str, "flags": {}, "mask": null}

Pixel ``(x, y)`` covers ``[x, x + 1] x [y, y + 1]`` (LabelMe's canvas and
COCO polygons). ``polygon`` (>= 3 points; the type of a shape without
``shape_type``), ``rectangle`` (2 corners) and ``oriented_rectangle`` (4
corners) are rasterized as COCO rasterizes polygons; ``circle`` (centre,
point on the circle) takes the pixels whose centre is within the radius;
``mask`` (``points``: inclusive top-left and bottom-right pixels, ``mask``:
a base64 PNG of the box) is pasted as LabelMe's ``shapes_to_label`` does.
``point``, ``points``, ``line`` and ``linestrip`` have no area. Points up
to :data:`CLIP_TOLERANCE` pixels outside the frame are clipped, further
out is an error.
"""
import base64
import binascii
import io
import math

import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image

from ...structures.rle import encode_mask, segmentation_rle
from ...utils.user_errors import UserError
from .ytvis_tracks import polygons_rle

POLYGON_SHAPE_TYPES = ('polygon', 'rectangle', 'oriented_rectangle')
AREA_SHAPE_TYPES = POLYGON_SHAPE_TYPES + ('circle', 'mask')
NO_AREA_SHAPE_TYPES = ('point', 'points', 'line', 'linestrip')
#: Points up to this many pixels outside the frame are clipped to it.
CLIP_TOLERANCE = 1.0
#: The number of points of each shape type that has a fixed number.
NUM_POINTS = dict(rectangle=2, circle=2, mask=2, oriented_rectangle=4)


def shape_type_of(shape: dict, where: str) -> str:
    """The ``shape_type`` of a shape (``'polygon'`` when missing or null,
    as LabelMe reads it).

    Raises:
        UserError: Not a string or not a LabelMe shape type.
    """
    shape_type = shape.get('shape_type')
    if shape_type is None:
        return 'polygon'
    if shape_type not in AREA_SHAPE_TYPES + NO_AREA_SHAPE_TYPES:
        raise UserError(
            f'{where}: "shape_type" {shape_type!r} is not a LabelMe shape '
            f'type ({", ".join(AREA_SHAPE_TYPES + NO_AREA_SHAPE_TYPES)})')
    return shape_type


def shape_points(shape: dict, shape_type: str, height: int, width: int,
                 where: str) -> np.ndarray:
    """The points of an area shape, checked against its type and frame.

    Args:
        shape (dict): The shape object.
        shape_type (str): Its type, one of :data:`AREA_SHAPE_TYPES`.
        height, width (int): The frame size.
        where (str): Names the file, frame and shape in errors.

    Returns:
        np.ndarray: (N, 2) float64 ``x, y``.

    Raises:
        UserError: Malformed ``points``, the wrong number for the type, or
            a point too far outside the frame; naming the point.
    """
    points = shape.get('points')
    if not isinstance(points, list):
        raise UserError(f'{where}: "points" must be a list of [x, y], got '
                        f'{type(points).__name__}')
    for index, point in enumerate(points):
        if not (isinstance(point, list) and len(point) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) for v in point)):
            raise UserError(f'{where}: "points"[{index}] must be [x, y] '
                            f'with finite numbers, got {point!r}')
    expected = NUM_POINTS.get(shape_type)
    if expected is not None and len(points) != expected:
        raise UserError(f'{where}: a {shape_type} shape has {expected} '
                        f'points, found {len(points)}')
    if expected is None and len(points) < 3:
        raise UserError(f'{where}: a polygon has at least 3 points, found '
                        f'{len(points)}')
    for index, (x, y) in enumerate(points):
        if not (-CLIP_TOLERANCE <= x <= width + CLIP_TOLERANCE
                and -CLIP_TOLERANCE <= y <= height + CLIP_TOLERANCE):
            raise UserError(
                f'{where}: "points"[{index}] = [{x}, {y}] is more than '
                f'{CLIP_TOLERANCE:g} pixel outside the {height}x{width} '
                f'(height x width) frame (0 <= x <= {width}, 0 <= y <= '
                f'{height}; points up to {CLIP_TOLERANCE:g} pixel outside are '
                'clipped to it)')
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def clip_polygon(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """The part of a polygon inside the frame ``[0, width] x [0,
    height]`` (Sutherland-Hodgman clipping; the frame is convex).

    Args:
        points (np.ndarray): (N, 2) ``x, y``.
        height, width (int): The frame size.

    Returns:
        np.ndarray: (M, 2); fewer than 3 points when nothing is inside.
    """
    clipped = [np.asarray(p, dtype=np.float64) for p in points]
    for axis, bound, low in ((0, 0., True), (0, width, False),
                             (1, 0., True), (1, height, False)):
        kept = []
        for index, point in enumerate(clipped):
            previous = clipped[index - 1]
            is_in = point[axis] >= bound if low else point[axis] <= bound
            was_in = (previous[axis] >= bound
                      if low else previous[axis] <= bound)
            if is_in != was_in:
                t = (bound - previous[axis]) / (point[axis] - previous[axis])
                crossing = previous + t * (point - previous)
                crossing[axis] = bound
                kept.append(crossing)
            if is_in:
                kept.append(point)
        clipped = kept
    return np.asarray(clipped, dtype=np.float64).reshape(-1, 2)


def _polygon_corners(points: np.ndarray, shape_type: str) -> np.ndarray:
    if shape_type == 'rectangle':
        (x0, y0), (x1, y1) = points.min(0), points.max(0)
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return points


def _circle_mask(points: np.ndarray, height: int,
                 width: int) -> np.ndarray:
    (cx, cy), edge = points
    radius = float(np.hypot(*(edge - points[0])))
    mask = np.zeros((height, width), dtype=bool)
    # the pixels (x, y) of the circle's box, centres at (x + 0.5, y + 0.5)
    x0 = max(math.floor(cx - radius), 0)
    y0 = max(math.floor(cy - radius), 0)
    x1 = min(math.ceil(cx + radius) + 1, width)
    y1 = min(math.ceil(cy + radius) + 1, height)
    if x0 < x1 and y0 < y1:
        xs = np.arange(x0, x1) + 0.5 - cx
        ys = np.arange(y0, y1) + 0.5 - cy
        mask[y0:y1, x0:x1] = (
            xs[None, :]**2 + ys[:, None]**2) <= radius * radius
    return mask


def _decode_mask_patch(shape: dict, where: str) -> np.ndarray:
    data = shape.get('mask')
    if not isinstance(data, str):
        raise UserError(f'{where}: a mask shape needs "mask", a base64 PNG '
                        f'of its box, got {type(data).__name__}')
    try:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            patch = np.asarray(image)
    except (binascii.Error, ValueError, OSError) as err:
        raise UserError(f'{where}: "mask" is not a base64 PNG '
                        f'({err})') from None
    if patch.ndim != 2:
        raise UserError(f'{where}: "mask" is a {patch.shape} image; a mask '
                        'is a single-channel image')
    return patch.astype(bool)


def _pasted_mask(shape: dict, points: np.ndarray, height: int, width: int,
                 where: str) -> np.ndarray:
    patch = _decode_mask_patch(shape, where)
    corners = np.round(points).astype(int)
    (x0, y0), (x1, y1) = corners
    if np.array_equal(points, np.trunc(points)):
        # integer corners are the box's first and last pixel (LabelMe)
        patch = patch[:max(y1 - y0 + 1, 0), :max(x1 - x0 + 1, 0)]
    mask = np.zeros((height, width), dtype=bool)
    top, left = max(y0, 0), max(x0, 0)
    bottom = min(y0 + patch.shape[0], height)
    right = min(x0 + patch.shape[1], width)
    if top < bottom and left < right:
        mask[top:bottom, left:right] = patch[top - y0:bottom - y0,
                                             left - x0:right - x0]
    return mask


def shape_rle(shape: dict, shape_type: str, height: int, width: int,
              where: str) -> dict:
    """The mask of an area shape in a frame.

    Args:
        shape (dict): The shape object.
        shape_type (str): Its type, one of :data:`AREA_SHAPE_TYPES`.
        height, width (int): The frame size.
        where (str): Names the file, frame and shape in errors.

    Returns:
        dict: Compressed RLE (``str`` counts) of the frame size.

    Raises:
        UserError: Malformed ``points`` or ``mask``, a point too far
            outside the frame, or a shape that covers no pixel.
    """
    assert shape_type in AREA_SHAPE_TYPES, shape_type
    points = shape_points(shape, shape_type, height, width, where)
    if shape_type in POLYGON_SHAPE_TYPES:
        polygon = clip_polygon(
            _polygon_corners(points, shape_type), height, width)
        rle = polygons_rle([polygon.reshape(-1).tolist()], height,
                           width) if len(polygon) >= 3 else encode_mask(
                               np.zeros((height, width), dtype=bool))
    elif shape_type == 'circle':
        rle = encode_mask(_circle_mask(points, height, width))
    else:
        rle = encode_mask(_pasted_mask(shape, points, height, width, where))
    if not mask_utils.area(segmentation_rle(rle, height, width)):
        raise UserError(
            f'{where}: the {shape_type} covers no pixel of the frame (a '
            'pixel is in a shape when its centre is)')
    return rle


__all__ = [
    'AREA_SHAPE_TYPES', 'CLIP_TOLERANCE', 'NO_AREA_SHAPE_TYPES',
    'clip_polygon', 'shape_points', 'shape_rle', 'shape_type_of'
]
