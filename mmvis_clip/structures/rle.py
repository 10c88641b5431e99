"""Masks and segmentations as COCO run-length encodings (pycocotools).

Run lengths of n masks are held as one array ``runs`` and ``offsets``
(n + 1,): mask i's runs are ``runs[offsets[i]:offsets[i + 1]]``,
column-major, background first. The batch functions are compiled
(``rle_runs.c``).
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from pycocotools import mask as mask_utils

from ..utils.compiled import compiled_module

_rle_runs = compiled_module('structures._rle_runs')

#: What can be wrong with a compressed ``counts`` string, by the problem
#: code :func:`decode_counts_strings` gives it (0: nothing), in the order
#: they are checked.
COUNTS_STRING_PROBLEMS = (
    '',
    'holds a non-ASCII character',
    'holds a character outside the RLE alphabet',
    'ends inside a number (truncated)',
    'holds a number too large for a run length',
)
#: A number of a compressed string has at most this many characters (5
#: bits each: pycocotools' 64-bit ``long``; ``rle_runs.c`` has the same).
MAX_NUMBER_CHARS = 12


def encode_mask(mask: np.ndarray) -> dict:
    """Compressed RLE of a mask.

    Args:
        mask (np.ndarray): (H, W), bool or 0/1.

    Returns:
        dict: ``{'size': [H, W], 'counts': str}`` (json-ready).
    """
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(
        size=[int(v) for v in rle['size']],
        counts=rle['counts'].decode('ascii'))


def encode_masks(masks: np.ndarray) -> List[dict]:
    """Compressed RLEs of masks, encoded in one call.

    Args:
        masks (np.ndarray): (n, H, W), bool or 0/1.

    Returns:
        list[dict]: n of ``{'size': [H, W], 'counts': str}``.
    """
    if len(masks) == 0:
        return []
    rles = mask_utils.encode(
        np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    return [
        dict(size=[int(v) for v in rle['size']],
             counts=rle['counts'].decode('ascii')) for rle in rles
    ]


def decode_rle(rle: dict) -> np.ndarray:
    """The mask of a compressed RLE (``counts`` str, as in json, or bytes).

    Returns:
        np.ndarray: (H, W) bool.
    """
    height, width = rle['size']
    return mask_utils.decode(segmentation_rle(rle, height,
                                              width)).astype(bool)


def segmentation_rle(segmentation, height: int, width: int) -> dict:
    """Compressed RLE of a segmentation that ``check_segmentation``
    accepted (polygons, uncompressed or compressed RLE).

    Returns:
        dict: ``{'size': [height, width], 'counts': bytes}``.
    """
    if isinstance(segmentation, list):
        return mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation['counts'], list):
        return mask_utils.frPyObjects(segmentation, height, width)
    counts = segmentation['counts']
    if isinstance(counts, str):
        counts = counts.encode('ascii')
    return dict(size=[height, width], counts=counts)


class FrameRuns(NamedTuple):
    """Run lengths of n masks: ``runs`` (N,) and ``offsets`` (n + 1,)
    int64 (layout: the module docstring)."""
    runs: np.ndarray
    offsets: np.ndarray


class DecodedCounts(NamedTuple):
    """Runs of n compressed RLE strings (``runs`` (N,), ``offsets``
    (n + 1,) int64) and per string: ``problems`` (n,) int8, an index into
    :data:`COUNTS_STRING_PROBLEMS` (0: none; else no runs), and
    ``totals``, ``smallest``, ``areas`` (n,) int64 (:func:`run_totals`;
    0 for a string with a problem)."""
    runs: np.ndarray
    offsets: np.ndarray
    problems: np.ndarray
    totals: np.ndarray
    smallest: np.ndarray
    areas: np.ndarray


def decode_counts_strings(
        counts: Sequence[Union[str, bytes]]) -> DecodedCounts:
    """Run lengths of compressed COCO RLE strings, decoded as pycocotools'
    ``rleFrString`` does (in 64-bit arithmetic).

    Args:
        counts (Sequence[str | bytes]): n ``counts`` strings.

    Returns:
        DecodedCounts: Runs, offsets, problems and totals.
    """
    parts = _rle_runs.decode_counts(counts)
    runs, offsets, problems, totals, smallest, areas = (
        np.frombuffer(part, dtype=np.int8 if i == 2 else np.int64)
        for i, part in enumerate(parts))
    return DecodedCounts(runs, offsets, problems, totals, smallest, areas)


def encode_runs(runs: FrameRuns) -> List[bytes]:
    """The compressed ``counts`` strings of masks (as pycocotools).

    Args:
        runs (FrameRuns): n masks, each run in ``[0, 2**32)``.

    Returns:
        list[bytes]: n strings.
    """
    values = np.ascontiguousarray(runs.runs, dtype=np.int64)
    assert not values.size or (values.min() >= 0 and values.max() < 2**32)
    return _rle_runs.encode_counts(
        values, np.ascontiguousarray(runs.offsets, dtype=np.int64))


class IntLists(NamedTuple):
    """n lists of ints as runs (``runs`` (N,), ``offsets`` (n + 1,)
    int64), with ``exact`` (n,) bool (False, and no runs, for a list
    holding anything but ints within int64) and ``totals``, ``smallest``,
    ``areas`` (n,) int64 (:func:`run_totals`; 0 where not exact)."""
    runs: np.ndarray
    offsets: np.ndarray
    exact: np.ndarray
    totals: np.ndarray
    smallest: np.ndarray
    areas: np.ndarray


def int_lists(lists: Sequence[list]) -> IntLists:
    """Lists of ints (uncompressed RLE ``counts``) as one int64 array.

    Args:
        lists (Sequence[list]): n lists.

    Returns:
        IntLists: Runs, offsets, exactness and totals.
    """
    runs, offsets, exact, totals, smallest, areas = _rle_runs.int_lists(lists)
    return IntLists(
        np.frombuffer(runs, dtype=np.int64),
        np.frombuffer(offsets, dtype=np.int64),
        np.frombuffer(exact, dtype=np.int8).astype(bool),
        *(np.frombuffer(part, dtype=np.int64)
          for part in (totals, smallest, areas)))


def join_frame_runs(num: int, *parts: Tuple[np.ndarray, FrameRuns]
                    ) -> FrameRuns:
    """The runs of ``num`` masks, from parts that each hold some of them.

    Args:
        num (int): Masks in all.
        *parts (tuple[np.ndarray, FrameRuns]): ``(indices, runs)``: the
            masks ``indices`` (k,), ascending, are the k masks of ``runs``.
            Every mask is in exactly one part.

    Returns:
        FrameRuns: Mask i's runs at ``offsets[i]``.
    """
    for indices, runs in parts:
        if len(indices) == num:  # every mask, in order (indices ascending)
            return runs
    lengths = np.zeros(num, dtype=np.int64)
    for indices, runs in parts:
        lengths[indices] = np.diff(runs.offsets)
    offsets = np.zeros(num + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = np.empty(int(offsets[-1]), dtype=np.int64)
    for indices, runs in parts:
        if runs.runs.size:
            # each run moves by where its mask starts in the joined array
            shift = offsets[:-1][indices] - runs.offsets[:-1]
            joined[np.arange(runs.runs.size) + np.repeat(
                shift, np.diff(runs.offsets))] = runs.runs
    return FrameRuns(joined, offsets)


def rle_track_runs(
        rles: Sequence[Optional[dict]]) -> Tuple[FrameRuns, np.ndarray]:
    """The run lengths of a track's compressed RLEs.

    Args:
        rles (Sequence[dict | None]): Per frame, a compressed RLE
            (``counts`` a str or bytes) or None where absent.

    Returns:
        tuple[FrameRuns, np.ndarray]: The present masks' runs, and per
        frame (F,) int64 its mask there, -1 where absent.

    Raises:
        ValueError: A ``counts`` string that does not decode.
    """
    present = [i for i, rle in enumerate(rles) if rle is not None]
    decoded = decode_counts_strings([rles[i]['counts'] for i in present])
    if decoded.problems.any():
        problem = int(decoded.problems[np.flatnonzero(decoded.problems)[0]])
        raise ValueError(f'RLE counts {COUNTS_STRING_PROBLEMS[problem]}')
    slots = np.full(len(rles), -1, dtype=np.int64)
    slots[present] = np.arange(len(present))
    return FrameRuns(decoded.runs, decoded.offsets), slots


def track_intersections(dt_runs: FrameRuns, dt_slots: np.ndarray,
                        gt_runs: FrameRuns,
                        gt_slots: np.ndarray) -> np.ndarray:
    """Pixels each predicted track shares with each ground-truth track,
    summed over frames: ``sum_f |d_f & g_f|``.

    Args:
        dt_runs (FrameRuns): Masks of the predictions.
        dt_slots (np.ndarray): (D, F) int64, per track and frame its mask
            in ``dt_runs``, -1 where absent.
        gt_runs (FrameRuns): Masks of the ground truth.
        gt_slots (np.ndarray): (G, F) likewise.

    Returns:
        np.ndarray: (D, G) int64.
    """
    num_dt, num_frames = dt_slots.shape
    num_gt = gt_slots.shape[0]
    assert gt_slots.shape[1] == num_frames, (dt_slots.shape, gt_slots.shape)
    if num_dt == 0 or num_gt == 0:
        return np.zeros((num_dt, num_gt), np.int64)

    def as_int64(array):
        return np.ascontiguousarray(array, dtype=np.int64)

    shared = _rle_runs.intersections(
        as_int64(dt_runs.runs), as_int64(dt_runs.offsets), as_int64(dt_slots),
        as_int64(gt_runs.runs), as_int64(gt_runs.offsets), as_int64(gt_slots),
        num_frames)
    return np.frombuffer(shared, dtype=np.int64).reshape(num_dt, num_gt)


def run_totals(runs: np.ndarray,
               offsets: np.ndarray,
               odd: Optional[np.ndarray] = None
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per mask: pixels covered, smallest run (0 if none) and area.

    Args:
        runs (np.ndarray): (N,) int64 run lengths.
        offsets (np.ndarray): (n + 1,) bounds of each mask's runs.
        odd (np.ndarray, optional): (N,) bool, the runs at odd positions
            of their mask, when known.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: (n,) int64 each.
    """
    num = len(offsets) - 1
    totals = np.zeros(num, dtype=np.int64)
    areas = np.zeros(num, dtype=np.int64)
    smallest = np.zeros(num, dtype=np.int64)
    present = np.flatnonzero(offsets[1:] > offsets[:-1])
    if present.size:
        starts = offsets[:-1][present]
        totals[present] = np.add.reduceat(runs, starts)
        smallest[present] = np.minimum.reduceat(runs, starts)
        if odd is None:  # from the parity in the whole array
            odd = np.zeros(runs.size, dtype=bool)
            odd[1::2] = True
            flip = np.repeat(offsets[:-1] & 1, np.diff(offsets)).astype(bool)
            odd ^= flip
        areas[present] = np.add.reduceat(np.where(odd, runs, 0), starts)
    return totals, smallest, areas
