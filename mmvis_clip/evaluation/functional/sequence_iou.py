"""Sequence (spatio-temporal) mask IoU of the YouTube-VIS protocol."""
from typing import Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils

Track = Sequence[Optional[dict]]


def sequence_mask_iou(dt_tracks: Sequence[Track],
                      gt_tracks: Sequence[Track]) -> np.ndarray:
    """IoU between every predicted and every ground-truth mask track.

    For a prediction ``d`` and a ground truth ``g`` over frames ``f``::

        IoU(d, g) = sum_f |d_f & g_f| / sum_f |d_f | g_f|

    where an absent mask (``None``) is empty, so frames where both are
    absent contribute nothing; the IoU is 0 when the union is empty.

    Per frame, pycocotools computes the intersections of all present pairs
    at once (as its crowd IoU ``|d & g| / |d|``, times ``|d|``, rounded to
    the integer pixel count) and the unions follow from
    ``|d | g| = |d| + |g| - |d & g|``, so every sum is an exact integer.

    Args:
        dt_tracks (Sequence[Sequence[dict | None]]): D tracks of F frames
            each, a compressed RLE or ``None`` per frame.
        gt_tracks (Sequence[Sequence[dict | None]]): G tracks of the same F
            frames.

    Returns:
        np.ndarray: IoUs, shape (D, G), float64.
    """
    num_dt, num_gt = len(dt_tracks), len(gt_tracks)
    if num_dt == 0 or num_gt == 0:
        return np.zeros((num_dt, num_gt))
    num_frames = len(dt_tracks[0])
    if any(len(track) != num_frames for track in (*dt_tracks, *gt_tracks)):
        raise ValueError('all tracks must have the same number of frames')

    intersection = np.zeros((num_dt, num_gt))
    dt_area = np.zeros(num_dt)
    gt_area = np.zeros(num_gt)
    for frame_id in range(num_frames):
        dt_ids = [i for i, t in enumerate(dt_tracks) if t[frame_id]]
        gt_ids = [j for j, t in enumerate(gt_tracks) if t[frame_id]]
        dt_rles = [dt_tracks[i][frame_id] for i in dt_ids]
        gt_rles = [gt_tracks[j][frame_id] for j in gt_ids]
        if dt_ids:
            frame_dt_area = mask_utils.area(dt_rles).astype(np.float64)
            dt_area[dt_ids] += frame_dt_area
        if gt_ids:
            gt_area[gt_ids] += mask_utils.area(gt_rles)
        if dt_ids and gt_ids:
            inter_over_dt = mask_utils.iou(dt_rles, gt_rles,
                                           np.ones(len(gt_ids), np.uint8))
            if (inter_over_dt < 0).any():
                raise ValueError(f'masks of different sizes in frame '
                                 f'{frame_id}')
            intersection[np.ix_(dt_ids, gt_ids)] += np.rint(
                inter_over_dt * frame_dt_area[:, None])
    union = dt_area[:, None] + gt_area[None, :] - intersection
    iou = np.zeros_like(intersection)
    np.divide(intersection, union, out=iou, where=union > 0)
    return iou
