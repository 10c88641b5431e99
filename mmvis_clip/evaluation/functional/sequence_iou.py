"""Sequence (spatio-temporal) mask IoU of the YouTube-VIS protocol."""
from typing import Optional, Sequence, Tuple

import numpy as np

from ...structures.rle import (FrameRuns, rle_track_runs, run_totals,
                               track_intersections)

Track = Sequence[Optional[dict]]


def sequence_mask_iou(dt_tracks: Sequence[Track],
                      gt_tracks: Sequence[Track],
                      dt_areas: Optional[np.ndarray] = None,
                      gt_areas: Optional[np.ndarray] = None) -> np.ndarray:
    """IoU between every predicted and every ground-truth mask track:
    ``sum_f |d_f & g_f| / sum_f |d_f | g_f|`` (absent masks empty; 0 for
    an empty union).

    Args:
        dt_tracks (Sequence[Sequence[dict | None]]): D tracks of F frames,
            a compressed RLE or ``None`` per frame.
        gt_tracks (Sequence[Sequence[dict | None]]): G tracks likewise.
        dt_areas (np.ndarray, optional): (D, F) mask areas, 0 where
            absent; computed when not given.
        gt_areas (np.ndarray, optional): (G, F) likewise.

    Returns:
        np.ndarray: IoUs, shape (D, G), float64.

    Raises:
        ValueError: Tracks of different lengths, or masks of different
            sizes in a frame.
    """
    num_dt, num_gt = len(dt_tracks), len(gt_tracks)
    if num_dt == 0 or num_gt == 0:
        return np.zeros((num_dt, num_gt))
    num_frames = len(dt_tracks[0])
    if any(len(track) != num_frames for track in (*dt_tracks, *gt_tracks)):
        raise ValueError('all tracks must have the same number of frames')
    for frame_id in range(num_frames):
        sizes = {
            tuple(track[frame_id]['size'])
            for track in (*dt_tracks, *gt_tracks) if track[frame_id]
        }
        if len(sizes) > 1:
            raise ValueError('masks of different sizes in a frame')
    dt_runs, dt_slots, dt_frame_areas = _tracks_runs(dt_tracks)
    gt_runs, gt_slots, gt_frame_areas = _tracks_runs(gt_tracks)
    return iou_from_intersections(
        track_intersections(dt_runs, dt_slots, gt_runs, gt_slots),
        dt_frame_areas if dt_areas is None else dt_areas,
        gt_frame_areas if gt_areas is None else gt_areas)


def iou_from_intersections(intersection: np.ndarray, dt_areas: np.ndarray,
                           gt_areas: np.ndarray) -> np.ndarray:
    """Sequence IoUs from the pixels pairs of tracks share.

    Args:
        intersection (np.ndarray): (D, G) ``sum_f |d_f & g_f|``.
        dt_areas (np.ndarray): (D, F) mask areas, 0 where absent.
        gt_areas (np.ndarray): (G, F) likewise.

    Returns:
        np.ndarray: (D, G) float64, 0 where the union is empty.
    """
    intersection = intersection.astype(np.float64)
    union = np.sum(dt_areas, 1)[:, None] + np.sum(gt_areas, 1)[None, :] - \
        intersection
    iou = np.zeros_like(intersection)
    np.divide(intersection, union, out=iou, where=union > 0)
    return iou


def stack_track_runs(
        tracks: Sequence[Tuple[FrameRuns, np.ndarray]]
) -> Tuple[FrameRuns, np.ndarray]:
    """Tracks' masks as one run store and their frames' slots there.

    Args:
        tracks (Sequence[tuple[FrameRuns, np.ndarray]]): N tracks, each
            its run store and (F,) slots (-1 where absent).

    Returns:
        tuple[FrameRuns, np.ndarray]: The store (the tracks' own when they
        share one) and (N, F) int64 slots.
    """
    first = tracks[0][0]
    if all(store is first for store, _ in tracks):
        return first, np.stack([slots for _, slots in tracks])
    counts = [len(store.offsets) - 1 for store, _ in tracks]
    starts = np.concatenate([[0], np.cumsum(counts)])
    slots = np.stack([
        np.where(track_slots >= 0, track_slots + start, -1)
        for (_, track_slots), start in zip(tracks, starts)
    ])
    lengths = np.concatenate([np.diff(store.offsets) for store, _ in tracks])
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    runs = np.concatenate([store.runs for store, _ in tracks])
    return FrameRuns(runs.astype(np.int64), offsets), slots


def _tracks_runs(
        tracks: Sequence[Track]) -> Tuple[FrameRuns, np.ndarray, np.ndarray]:
    """The masks of tracks of RLEs as one run store, the (N, F) slots of
    their frames there and their (N, F) areas."""
    masks, slots = stack_track_runs([rle_track_runs(t) for t in tracks])
    areas = np.zeros(slots.shape)
    present = slots >= 0
    areas[present] = run_totals(masks.runs, masks.offsets)[2][slots[present]]
    return masks, slots, areas
