"""YouTube-VIS format errors, and the checks of frame segmentations: one
(:func:`check_segmentation`) or many at once (:class:`SegmentationBatch`).
"""
import io
import json
import math
import os
from bisect import bisect_right
from itertools import compress
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import orjson
from pycocotools import mask as mask_utils

from ..utils.compiled import compiled_module
from ..utils.user_errors import UserError
from .rle import (COUNTS_STRING_PROBLEMS, FrameRuns, decode_counts_strings,
                  encode_runs, int_lists, join_frame_runs, segmentation_rle)

_vis_format_scan = compiled_module('structures._vis_format_scan')


class VISFormatError(UserError):
    """A file that breaks the YouTube-VIS / OVIS format (the message
    names the file, video and field)."""


def load_json(path: Union[str, os.PathLike]):
    """Read a json file; malformed content raises naming the file.

    Raises:
        VISFormatError: The file is not UTF-8 JSON.
        OSError: It is missing, a folder or unreadable.
    """
    with open(path, 'rb') as f:
        data = f.read()
    try:
        return loads_json_bytes(data)
    except json.JSONDecodeError as err:
        raise VISFormatError(f'{path}: malformed JSON ({err})') from None
    except UnicodeDecodeError as err:
        raise VISFormatError(
            f'{path}: not a JSON text file ({err})') from None


def loads_json_bytes(data: bytes, universal_newlines: bool = True):
    """Parse UTF-8 json text as ``json.load`` of its file does (text mode
    if ``universal_newlines``, else ``json.loads`` of the decoded text):
    with orjson, or :mod:`json` where orjson refuses the text or could
    read an integer beyond 64 bits as a float.

    Raises:
        json.JSONDecodeError: Malformed json.
        UnicodeDecodeError: Not UTF-8.
    """
    if not _vis_format_scan.may_hold_long_integer(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    if not universal_newlines:
        return json.loads(data.decode('utf-8'))
    return json.load(io.TextIOWrapper(io.BytesIO(data), encoding='utf-8'))


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, (bool, np.bool_))


def rle_string_counts(counts: Union[str, bytes]) -> np.ndarray:
    """Run lengths of a compressed COCO RLE string (``rleFrString``).

    Args:
        counts (str | bytes): The ``counts`` of a compressed RLE.

    Returns:
        np.ndarray: (m,) int64 run lengths, background first.

    Raises:
        ValueError: A string that does not decode.
    """
    decoded = decode_counts_strings([counts])
    if decoded.problems[0]:
        raise ValueError(COUNTS_STRING_PROBLEMS[decoded.problems[0]])
    return decoded.runs


def _valid_run_lengths(counts: list) -> bool:
    """Whether an uncompressed RLE's ``counts`` are non-negative
    integers (integral floats too)."""
    return all(
        _is_number(c) and math.isfinite(c) and c == int(c) and c >= 0
        for c in counts)


def check_segmentation(segmentation, height: int, width: int,
                       where: str) -> None:
    """Check one frame's segmentation against its frame size.

    Accepted: an RLE (``counts`` a str, bytes or list of ints) of ``size``
    ``[height, width]`` whose non-negative runs sum to ``height * width``;
    or a non-empty list of polygons, each >= 6 finite coordinates ``x0,
    y0, x1, y1, ...`` with ``0 <= x <= width``, ``0 <= y <= height``.

    Args:
        segmentation: The segmentation (not ``None``).
        height, width (int): Frame size.
        where (str): Names the file, video, annotation and frame.

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
        if not _valid_run_lengths(counts):
            raise VISFormatError(
                f'{where}: uncompressed RLE "counts" must be non-negative '
                'integers')
        try:
            runs = np.asarray(counts, dtype=np.int64)
        except OverflowError:
            raise VISFormatError(
                f'{where}: uncompressed RLE "counts" hold a run longer than '
                f'the {height}x{width} frame') from None
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


#: Kinds of frame segmentation a :class:`SegmentationBatch` holds: the
#: ones its run-length checks are vectorised for, and the rest (checked at
#: once by :func:`check_segmentation`).
_STRING, _LIST, _OTHER = 0, 1, 2


class SegmentationBatch:
    """The frame segmentations of many tracks, checked as
    :func:`check_segmentation` does and converted to compressed RLEs.

    RLE run lengths are checked together by :meth:`raise_first_problem`
    or :meth:`finish` (the first failing frame gets
    :func:`check_segmentation`'s message); everything else when added::

        batch = SegmentationBatch()
        try:
            for ...:
                slots = batch.add_track(segmentations, height, width, where)
                ...  # other checks
        except VISFormatError:
            batch.raise_first_problem()  # an earlier frame's, if any
            raise
        rles, areas, runs = batch.finish()
    """

    def __init__(self) -> None:
        self._kinds = bytearray()  # the kind of each slot
        self._items: list = []  # the segmentation of each slot
        # per track: its first slot, (height, width), where, and per frame
        # whether present
        self._starts: List[int] = []
        self._tracks: List[Tuple[Tuple[int, int], str, bytes]] = []
        self._checked: Optional[tuple] = None

    def __len__(self) -> int:
        return len(self._items)

    def add_track(self, segmentations: Sequence, height: int, width: int,
                  where: str) -> List[int]:
        """Add the frames of one track.

        Args:
            segmentations (Sequence): Per frame, a segmentation or falsy.
            height, width (int): The frames' size.
            where (str): Names the file, video and track in messages.

        Returns:
            list[int]: Per frame, its slot in :meth:`finish`'s outputs
            (-1: absent).

        Raises:
            VISFormatError: An invalid frame (run lengths aside).
        """
        self._checked = None
        first = len(self._items)
        slots, kinds, present = _vis_format_scan.frame_kinds(
            segmentations, height, width, first)
        self._items.extend(compress(segmentations, present))
        self._kinds += kinds
        self._starts.append(first)
        self._tracks.append(((height, width), where, present))
        if _OTHER in kinds:  # checked now, in frame order
            frame_ids = [i for i, p in enumerate(present) if p]
            for k, kind in enumerate(kinds):
                if kind != _OTHER:
                    continue
                slot = first + k
                try:
                    check_segmentation(self._items[slot], height, width,
                                       f'{where}, frame {frame_ids[k]}')
                except VISFormatError:
                    # the frames after it were never added
                    del self._items[slot + 1:], self._kinds[slot + 1:]
                    raise
        return slots

    def _where(self, slot: int) -> str:
        """``where, frame i`` of a slot."""
        track = bisect_right(self._starts, slot) - 1
        _, where, present = self._tracks[track]
        frame_id = [i for i, p in enumerate(present) if p][
            slot - self._starts[track]]
        return f'{where}, frame {frame_id}'

    def _shapes(self) -> np.ndarray:
        """(N, 2) int64 (height, width) of every slot."""
        counts = np.diff(
            np.array(self._starts + [len(self._items)], dtype=np.int64))
        sizes = np.array([size for size, _, _ in self._tracks],
                         dtype=np.int64).reshape(-1, 2)
        return np.repeat(sizes, counts, axis=0)

    def _check(self) -> tuple:
        """Decode and check every RLE's runs (once)."""
        if self._checked is not None:
            return self._checked
        kinds = np.frombuffer(self._kinds, dtype=np.int8)
        shapes = self._shapes()
        pixels = shapes[:, 0] * shapes[:, 1]
        bad = np.zeros(len(kinds), dtype=bool)
        areas = np.zeros(len(kinds), dtype=np.int64)
        string_slots = np.flatnonzero(kinds == _STRING)
        decoded = decode_counts_strings(
            [self._items[i]['counts'] for i in string_slots])
        bad[string_slots] = (decoded.problems != 0) | (
            decoded.smallest < 0) | (decoded.totals != pixels[string_slots])
        areas[string_slots] = decoded.areas

        list_slots = np.flatnonzero(kinds == _LIST)
        lists = [self._items[i]['counts'] for i in list_slots]
        read = int_lists(lists)
        if not read.exact.all():
            # other numbers (integral floats, NumPy's), or beyond int64:
            # each on its own
            big = int(pixels.max()) + 1  # a run beyond it: its sum is wrong
            for i in np.flatnonzero(~read.exact).tolist():
                if _valid_run_lengths(lists[i]):
                    lists[i] = [min(int(c), big) for c in lists[i]]
                else:
                    bad[list_slots[i]] = True
                    lists[i] = []
            read = int_lists(lists)
            assert read.exact.all()
        runs, offsets, totals, smallest, list_areas = (read.runs, read.offsets,
                                                       read.totals,
                                                       read.smallest,
                                                       read.areas)
        bad[list_slots] |= (smallest < 0) | (totals != pixels[list_slots])
        areas[list_slots] = list_areas
        self._checked = (bad, areas, list_slots, FrameRuns(runs, offsets),
                         string_slots, FrameRuns(decoded.runs,
                                                 decoded.offsets), shapes)
        return self._checked

    def raise_first_problem(self) -> None:
        """Raise the error of the first frame with wrong run lengths.

        Raises:
            VISFormatError: Naming the frame (``where, frame i``).
        """
        bad = self._check()[0]
        if bad.any():
            slot = int(np.argmax(bad))
            height, width = self._check()[-1][slot].tolist()
            where = self._where(slot)
            check_segmentation(self._items[slot], height, width, where)
            raise AssertionError(f'{where}: the batch check failed where '
                                 'the frame check passed')

    def finish(self) -> Tuple[List[dict], np.ndarray, FrameRuns]:
        """Check the run lengths, then convert every frame.

        Returns:
            tuple[list[dict], np.ndarray, FrameRuns]: Per slot, the
            compressed RLE, the area (N,) float64, and the run lengths
            (mask i is slot i's).

        Raises:
            VISFormatError: As :meth:`raise_first_problem`.
        """
        self.raise_first_problem()
        _, areas, list_slots, list_runs, string_slots, string_runs, \
            shapes = self._check()
        # a compressed RLE of the frame's size is used as it is (pycocotools
        # reads its "size" and "counts" only)
        rles: List[dict] = list(self._items)
        if len(list_slots):
            # compressed as pycocotools compresses them, from the checked
            # runs (an array: no Python int converted again)
            strings = encode_runs(list_runs)
            heights, widths = shapes[list_slots].T.tolist()
            for slot, height, width, counts in zip(list_slots.tolist(),
                                                   heights, widths, strings):
                rles[slot] = dict(size=[height, width], counts=counts)
        other_slots = np.flatnonzero(
            np.frombuffer(self._kinds, dtype=np.int8) == _OTHER)
        for slot in other_slots.tolist():
            rle = segmentation_rle(self._items[slot], *shapes[slot].tolist())
            rles[slot] = rle
            areas[slot] = mask_utils.area(rle)
        other = decode_counts_strings(
            [rles[slot]['counts'] for slot in other_slots.tolist()])
        assert not other.problems.any(), 'pycocotools wrote these'
        runs = join_frame_runs(
            len(rles), (string_slots, string_runs), (list_slots, list_runs),
            (other_slots, FrameRuns(other.runs, other.offsets)))
        return rles, areas.astype(np.float64), runs
