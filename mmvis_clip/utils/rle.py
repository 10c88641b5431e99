"""Masks and segmentations as COCO run-length encodings (pycocotools).

Besides pycocotools' single-mask functions, the run lengths of many masks
at once, in NumPy (the evaluator checks every frame mask of a dataset
through these):

- :func:`decode_counts_strings`: compressed ``counts`` strings -> run
  lengths (pycocotools' ``rleFrString``), with what is wrong with each
  string (:data:`COUNTS_STRING_PROBLEMS`);
- :func:`run_totals`: per mask, the pixels its runs cover, its smallest
  run and its area.

Run lengths of n masks are held as one array ``runs`` and ``offsets``
(n + 1,): mask i's runs are ``runs[offsets[i]:offsets[i + 1]]``,
column-major, background first.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from pycocotools import mask as mask_utils

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
#: bits each: pycocotools' 64-bit ``long``).
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
    """Compressed RLE of a frame segmentation (polygons, uncompressed or
    compressed RLE) that
    :func:`~mmvis_clip.utils.vis_format.check_segmentation` accepted.

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


#: Characters decoded per NumPy pass (the arrays of a pass stay in cache).
DECODE_CHUNK = 1 << 18


class DecodedCounts(NamedTuple):
    """Run lengths of several compressed RLE strings, and per string what
    the checks of a segmentation need.

    Attributes:
        runs (np.ndarray): (N,) int64, every string's runs, in order.
        offsets (np.ndarray): (n + 1,) int64 bounds of each string's runs.
        problems (np.ndarray): (n,) int8 index into
            :data:`COUNTS_STRING_PROBLEMS` (0: decoded as pycocotools
            does; else the runs of that string are meaningless).
        totals, smallest, areas (np.ndarray): (n,) int64 each, as
            :func:`run_totals` gives them.
    """
    runs: np.ndarray
    offsets: np.ndarray
    problems: np.ndarray
    totals: np.ndarray
    smallest: np.ndarray
    areas: np.ndarray


def _string_of(positions: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Index of the string holding each character position."""
    return np.searchsorted(bounds, positions, side='right') - 1


def _decode_chunk(data: bytes, lengths: np.ndarray,
                  problems: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Runs, run offsets, totals, smallest runs and areas of consecutive
    strings (``data`` joined, of ``lengths``); sets their ``problems`` (a
    view)."""
    num = len(lengths)
    bounds = np.zeros(num + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    chars = np.frombuffer(data, dtype=np.uint8) - np.uint8(48)
    if chars.size == 0:
        runs, offsets = np.zeros(0, np.int64), np.zeros(num + 1, np.int64)
        return (runs, offsets) + run_totals(runs, offsets)

    def flag(code: int, positions: np.ndarray) -> None:
        if positions.size:
            strings = _string_of(positions, bounds)
            problems[strings[problems[strings] == 0]] = code

    outside = chars > 63  # below '0' wraps around
    if outside.any():
        flag(2, np.flatnonzero(outside))
        chars[outside] = 0
    ends = chars < 32  # the last character of a number
    last = bounds[1:][lengths > 0] - 1
    flag(3, last[~ends[last]])
    ends[last] = True  # no number runs into the next string
    number_ends = np.flatnonzero(ends)
    sizes = np.empty_like(number_ends)  # characters less one
    sizes[0] = number_ends[0]
    np.subtract(number_ends[1:], number_ends[:-1] + 1, out=sizes[1:])
    flag(4, number_ends[sizes >= MAX_NUMBER_CHARS])
    np.minimum(sizes, MAX_NUMBER_CHARS - 1, out=sizes)
    number_starts = number_ends - sizes
    values = (chars[number_starts] & 0x1f).astype(np.int64)
    more = np.flatnonzero(sizes)
    shift = 1
    while more.size:
        values[more] |= (chars[number_starts[more] + shift] & 0x1f).astype(
            np.int64) << (5 * shift)
        shift += 1
        more = more[sizes[more] >= shift]
    # the sign bit (bit 4 of the last character) extended: a value of
    # n bits with its top bit set is itself less 2^n
    negative = (chars[number_ends] >> 4).astype(np.int64)
    bits = sizes + 1
    bits *= 5
    values -= negative << bits
    # numbers per string, and each number's position in its string
    offsets = np.searchsorted(number_ends, bounds, side='left')
    first = np.repeat(offsets[:-1], np.diff(offsets))
    # runs 1, 3, 5, ... and 2, 4, 6, ... are running sums of the stored
    # numbers (run 0 is stored as it is): sums over every other number,
    # less the sum before the string's chain
    sums = np.zeros(values.size + 1, dtype=np.int64)
    np.cumsum(values[0::2], out=sums[1::2])
    np.cumsum(values[1::2], out=sums[2::2])
    odd = (np.arange(values.size) - first) & 1
    np.subtract(first, odd, out=first)  # the number before the chain
    runs = sums[1:] - sums[first + 1]
    starts = offsets[:-1][lengths > 0]
    runs[starts] = values[starts]
    return (runs, offsets) + run_totals(runs, offsets, odd.astype(bool))


def decode_counts_strings(counts: Sequence[Union[str, bytes]],
                          keep_runs: bool = True) -> DecodedCounts:
    """Run lengths of compressed COCO RLE strings, all at once.

    Each number is stored in 6-bit characters (offset 48; 5 bits of value,
    bit 5 set on all but its last character, whose bit 4 is the sign);
    from the fourth number on, each is stored as its difference to the
    number two before it (pycocotools' ``rleFrString``).

    Args:
        counts (Sequence[str | bytes]): n ``counts`` strings.
        keep_runs (bool): Return the runs; False to get only the problems
            and totals (``runs`` and ``offsets`` then empty).

    Returns:
        DecodedCounts: Runs, offsets, the problem of each string and its
        totals.
    """
    num = len(counts)
    problems = np.zeros(num, dtype=np.int8)
    items = list(counts)
    for i, c in enumerate(items):
        if type(c) is not bytes:
            try:
                items[i] = c.encode('ascii')
            except UnicodeEncodeError:
                problems[i] = 1
                items[i] = b''
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=num)
    ends = np.cumsum(lengths)
    parts = [(np.zeros(0, np.int64), np.zeros(1, np.int64)) +
             (np.zeros(0, np.int64), ) * 3]
    start, end = 0, 0
    while start < num:
        base = ends[start - 1] if start else 0
        stop = max(
            start + 1,
            int(np.searchsorted(ends, base + DECODE_CHUNK, side='right')))
        part = _decode_chunk(b''.join(items[start:stop]), lengths[start:stop],
                             problems[start:stop])
        if keep_runs:
            parts.append((part[0], part[1][1:] + end) + part[2:])
        else:
            parts.append(parts[0][:2] + part[2:])
        end += len(part[0])
        start = stop
    runs, offsets, totals, smallest, areas = (np.concatenate(column)
                                              for column in zip(*parts))
    if not keep_runs:
        offsets = np.zeros(0, np.int64)
    return DecodedCounts(runs, offsets, problems, totals, smallest, areas)


def run_totals(runs: np.ndarray,
               offsets: np.ndarray,
               odd: Optional[np.ndarray] = None
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per mask: the pixels its runs cover, its smallest run (0 for a
    mask without runs) and its area (the foreground runs, odd positions).

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
