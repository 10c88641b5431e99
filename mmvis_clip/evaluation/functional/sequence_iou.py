"""Sequence (spatio-temporal) mask IoU of the YouTube-VIS protocol."""
from typing import List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils

Track = Sequence[Optional[dict]]


def sequence_mask_iou(dt_tracks: Sequence[Track],
                      gt_tracks: Sequence[Track],
                      dt_areas: Optional[np.ndarray] = None,
                      gt_areas: Optional[np.ndarray] = None) -> np.ndarray:
    """IoU between every predicted and every ground-truth mask track.

    For a prediction ``d`` and a ground truth ``g`` over frames ``f``::

        IoU(d, g) = sum_f |d_f & g_f| / sum_f |d_f | g_f|

    where an absent mask (``None``) is empty, so frames where both are
    absent contribute nothing; the IoU is 0 when the union is empty.

    Per frame, one pycocotools call gives the intersections of all pairs
    of non-empty masks (as its crowd IoU ``|d & g| / |d|``, times ``|d|``,
    rounded to the integer pixel count) and the unions follow from
    ``|d | g| = |d| + |g| - |d & g|``, so every sum is an exact integer.

    Args:
        dt_tracks (Sequence[Sequence[dict | None]]): D tracks of F frames
            each, a compressed RLE or ``None`` per frame.
        gt_tracks (Sequence[Sequence[dict | None]]): G tracks of the same F
            frames.
        dt_areas (np.ndarray, optional): (D, F) mask areas, 0 where
            absent (as the parsers give them); computed when not given.
        gt_areas (np.ndarray, optional): (G, F) likewise.

    Returns:
        np.ndarray: IoUs, shape (D, G), float64.
    """
    num_dt, num_gt = len(dt_tracks), len(gt_tracks)
    if num_dt == 0 or num_gt == 0:
        return np.zeros((num_dt, num_gt))
    num_frames = len(dt_tracks[0])
    if any(len(track) != num_frames for track in (*dt_tracks, *gt_tracks)):
        raise ValueError('all tracks must have the same number of frames')
    if dt_areas is None:
        dt_areas = _track_areas(dt_tracks, num_frames)
    if gt_areas is None:
        gt_areas = _track_areas(gt_tracks, num_frames)

    # per frame, the tracks with a non-empty mask (an empty one meets
    # nothing)
    dt_frames = _present_by_frame(dt_areas)
    gt_frames = _present_by_frame(gt_areas)
    pairs, values = [], []
    for frame_id, (dt_ids, gt_ids) in enumerate(zip(dt_frames, gt_frames)):
        if not dt_ids or not gt_ids:
            continue
        inter_over_dt = mask_utils.iou(
            [dt_tracks[i][frame_id] for i in dt_ids],
            [gt_tracks[j][frame_id] for j in gt_ids], [1] * len(gt_ids))
        pairs.append((np.array(dt_ids)[:, None] * num_gt +
                      np.array(gt_ids)).ravel())
        values.append((inter_over_dt *
                       dt_areas[dt_ids, frame_id][:, None]).ravel())
    intersection = np.zeros(num_dt * num_gt)
    if pairs:
        values = np.concatenate(values)
        if (values < 0).any():
            raise ValueError('masks of different sizes in a frame')
        np.add.at(intersection, np.concatenate(pairs), np.rint(values))
    intersection = intersection.reshape(num_dt, num_gt)
    union = dt_areas.sum(1)[:, None] + gt_areas.sum(1)[None, :] - \
        intersection
    iou = np.zeros_like(intersection)
    np.divide(intersection, union, out=iou, where=union > 0)
    return iou


def _present_by_frame(areas: np.ndarray) -> List[List[int]]:
    """Per frame, the tracks whose mask there has pixels."""
    frames: List[List[int]] = [[] for _ in range(areas.shape[1])]
    for track, frame in zip(*np.nonzero(areas > 0)):
        frames[frame].append(int(track))
    return frames


def _track_areas(tracks: Sequence[Track], num_frames: int) -> np.ndarray:
    """(N, F) mask areas of tracks, 0 where absent."""
    areas = np.zeros((len(tracks), num_frames))
    present = [(i, f) for i, track in enumerate(tracks)
               for f, rle in enumerate(track) if rle]
    if present:
        rows, cols = zip(*present)
        areas[rows, cols] = mask_utils.area(
            [tracks[i][f] for i, f in present])
    return areas
