"""The error raised for files that break the YouTube-VIS format, and the
check of a frame segmentation against its frame."""
import json
import math
import os
from typing import Union

import numpy as np

from .user_errors import UserError


class VISFormatError(UserError):
    """A raw VIS json, ground truth or results file that breaks the
    YouTube-VIS / OVIS format. The message names the file, video and field.
    """


def load_json(path: Union[str, os.PathLike]):
    """Read a json file; malformed content raises naming the file.

    Raises:
        VISFormatError: The file is not UTF-8 JSON.
        OSError: It is missing, a folder or unreadable.
    """
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise VISFormatError(f'{path}: malformed JSON ({err})') from None
        except UnicodeDecodeError as err:
            raise VISFormatError(
                f'{path}: not a JSON text file ({err})') from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, (bool, np.bool_))


def rle_string_counts(counts: Union[str, bytes]) -> np.ndarray:
    """Run lengths of a compressed COCO RLE string (pycocotools'
    ``rleFrString`` in NumPy).

    Args:
        counts (str | bytes): The ``counts`` of a compressed RLE.

    Returns:
        np.ndarray: (m, ) int64 run lengths, background first.

    Raises:
        ValueError: A character outside the RLE alphabet (``'0'`` to
            ``'o'``) or a truncated last number.
    """
    if isinstance(counts, str):
        try:
            counts = counts.encode('ascii')
        except UnicodeEncodeError:
            raise ValueError('holds a non-ASCII character') from None
    chars = np.frombuffer(counts, dtype=np.uint8).astype(np.int64) - 48
    if chars.size == 0:
        return np.zeros(0, dtype=np.int64)
    if chars.min() < 0 or chars.max() > 63:
        raise ValueError('holds a character outside the RLE alphabet')
    ends = (chars & 0x20) == 0  # the last character of each number
    if not ends[-1]:
        raise ValueError('ends inside a number (truncated)')
    number = np.concatenate([[0], np.cumsum(ends)[:-1]])
    starts = np.flatnonzero(np.concatenate([[True], ends[:-1]]))
    position = np.arange(len(chars)) - starts[number]
    if position.max() > 11:
        raise ValueError('holds a number too large for a run length')
    values = np.zeros(int(ends.sum()), dtype=np.int64)
    np.add.at(values, number, (chars & 0x1f) << (5 * position))
    last = np.flatnonzero(ends)
    negative = (chars[last] & 0x10) != 0
    values[negative] |= -1 << (5 * (position[last][negative] + 1))
    # from the fourth number on, each is stored as a difference to the
    # number two before it
    out = values.copy()
    out[1::2] = np.cumsum(values[1::2])
    out[2::2] = np.cumsum(values[2::2])
    return out


def check_segmentation(segmentation, height: int, width: int,
                       where: str) -> None:
    """Check one frame's segmentation against its frame size.

    Accepted: a compressed RLE (``counts`` a str or bytes) or an
    uncompressed one (``counts`` a list of ints) whose ``size`` is
    ``[height, width]`` and whose run lengths are non-negative and sum to
    ``height * width``; or a non-empty list of polygons, each an even
    number (at least 6) of finite coordinates ``x0, y0, x1, y1, ...`` with
    ``0 <= x <= width`` and ``0 <= y <= height`` (the frame's border is
    at ``width`` and ``height``, so a polygon may reach it).

    Args:
        segmentation: The segmentation (not ``None``).
        height (int): Frame height.
        width (int): Frame width.
        where (str): Names the file, video, annotation and frame in the
            message.

    Raises:
        VISFormatError: Saying what is wrong, after ``where``.
    """
    if isinstance(segmentation, list):
        _check_polygons(segmentation, height, width, where)
        return
    if not isinstance(segmentation, dict) or 'counts' not in segmentation \
            or 'size' not in segmentation:
        raise VISFormatError(
            f'{where}: a segmentation must be an RLE object with "size" '
            'and "counts", a list of polygons or null, got '
            f'{type(segmentation).__name__}')
    size = segmentation['size']
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(_is_number(v) and v == int(v) for v in size)):
        raise VISFormatError(f'{where}: RLE "size" must be [height, width], '
                             f'got {size!r}')
    if [int(v) for v in size] != [height, width]:
        raise VISFormatError(
            f'{where}: RLE "size" is {list(size)} but the video is '
            f'[{height}, {width}] (height, width)')
    counts = segmentation['counts']
    if isinstance(counts, list):
        if not all(_is_number(c) and c == int(c) and c >= 0
                   for c in counts):
            raise VISFormatError(
                f'{where}: uncompressed RLE "counts" must be non-negative '
                'integers')
        runs = np.asarray(counts, dtype=np.int64)
    elif isinstance(counts, (str, bytes)):
        try:
            runs = rle_string_counts(counts)
        except ValueError as err:
            raise VISFormatError(
                f'{where}: compressed RLE "counts" {err}') from None
        if runs.size and runs.min() < 0:
            raise VISFormatError(
                f'{where}: compressed RLE "counts" decodes to a negative '
                'run length')
    else:
        raise VISFormatError(
            f'{where}: RLE "counts" must be a str, bytes or a list of '
            f'ints, got {type(counts).__name__}')
    total = int(runs.sum())
    if total != height * width:
        raise VISFormatError(
            f'{where}: RLE "counts" cover {total} pixels but the frame '
            f'has {height}x{width} = {height * width}')


def _check_polygons(polygons: list, height: int, width: int,
                    where: str) -> None:
    if not polygons:
        raise VISFormatError(f'{where}: empty list of polygons (use null '
                             'for an absent instance)')
    for i, polygon in enumerate(polygons):
        if not isinstance(polygon, list) or len(polygon) < 6 or \
                len(polygon) % 2:
            raise VISFormatError(
                f'{where}: polygon {i} must list an even number (>= 6) of '
                'coordinates x0, y0, x1, y1, ...')
        if not all(_is_number(v) and math.isfinite(v) for v in polygon):
            raise VISFormatError(
                f'{where}: polygon {i} holds a coordinate that is not a '
                'finite number')
        xs, ys = polygon[0::2], polygon[1::2]
        for axis, values, bound in (('x', xs, width), ('y', ys, height)):
            low, high = min(values), max(values)
            if low < 0 or high > bound:
                bad = low if low < 0 else high
                raise VISFormatError(
                    f'{where}: polygon {i} has {axis} = {bad} outside the '
                    f'frame (0 <= {axis} <= {bound} for a {height}x{width} '
                    '(height x width) frame)')
