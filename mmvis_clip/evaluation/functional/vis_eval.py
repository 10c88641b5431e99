"""YouTube-VIS / OVIS evaluation: AP and AR of video instance segmentation.

The protocol, and the numbers, are those of the official YouTube-VIS
toolkit (``youtubevos/cocoapi`` ``ytvoseval.py``, vendored by mmdet as
``YTVISeval``): sequence mask IoU per video and category; predictions
sorted by score (stable) and cut to 100; crowd ground truth and ground
truth outside the subset (area range, occlusion level) ignored, matched
only when no regular one is left; each prediction takes the ground truth
of highest IoU (the last on ties); 10 IoU thresholds 0.50:0.05:0.95, 101
recall points, 1/10/100 detections, :data:`AREA_RANGES` on the mean area;
a category without regular ground truth is left out of a subset's mean,
and a stat with no category is -1.

With OVIS ``occlusion`` labels the stats are the 18 of the official
``oviseval.py`` (:data:`OVIS_STAT_NAMES`); predictions have no occlusion
level, so unmatched ones are false positives in every level. Departures
from the official code: docs/train_test.md.
"""
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...structures.ovis_occlusion import OCCLUSION_LEVELS
from ...structures.rle import track_intersections
from ...structures.vis_annotations import (VideoInstance, VISGroundTruth,
                                           check_evaluable, parse_ground_truth,
                                           parse_results)
from ...utils.compiled import compiled_module
from .hota import hota_from_parsed
from .sequence_iou import iou_from_intersections, stack_track_runs

_greedy_match = compiled_module('evaluation.functional._greedy_match')

VIS_STAT_NAMES = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10',
                  'AR100', 'ARs', 'ARm', 'ARl')
"""The 12 YouTube-VIS stats, in the official order."""

OCCLUSION_STAT_NAMES = tuple(f'{kind}_{level}' for kind in ('AP', 'AR')
                             for level in OCCLUSION_LEVELS)
"""OVIS occlusion-level stats: ``AP_light AP_medium AP_heavy AR_light
AR_medium AR_heavy``."""

OVIS_STAT_NAMES = (VIS_STAT_NAMES[:6] + OCCLUSION_STAT_NAMES[:3] +
                   VIS_STAT_NAMES[6:] + OCCLUSION_STAT_NAMES[3:])
"""The 18 stats of the official OVIS code, in its order."""

AREA_RANGES = {
    'all': (0.0, 1e5**2),
    'small': (0.0, 128.0**2),
    'medium': (128.0**2, 256.0**2),
    'large': (256.0**2, 1e5**2),
}
"""Inclusive bounds of the mean instance area of each area range."""


@dataclass
class _Subset:
    """Instances an AP is computed on: ``gt_kept`` (N_gt,) ground truth
    inside, ``dt_outside`` (N_dt,) predictions ignored when unmatched."""
    name: str
    gt_kept: np.ndarray
    dt_outside: np.ndarray


@dataclass
class _Matches:
    """Matching of one video and category, in every subset.

    Attributes:
        scores (np.ndarray): (D,) prediction scores, decreasing.
        dt_matched (np.ndarray): (S, T, D) bool, matched in each subset at
            each threshold.
        dt_ignored (np.ndarray): (S, T, D) bool, ignored likewise.
        num_gt (np.ndarray): (S,) ground truth neither crowd nor outside
            each subset.
    """
    scores: np.ndarray
    dt_matched: np.ndarray
    dt_ignored: np.ndarray
    num_gt: np.ndarray


def _mean_defined(values: np.ndarray) -> float:
    """Mean of the entries > -1, or -1 when there is none."""
    defined = values[values > -1]
    return float(defined.mean()) if defined.size else -1.0


class VISEval:
    """Step-wise YouTube-VIS evaluator.

    Example::

        evaluator = VISEval('valid.json', 'results.json')
        evaluator.evaluate()
        evaluator.accumulate()
        stats = evaluator.summarize()  # {'AP': 0.37, 'AP50': ...}

    Args:
        gt (str | PathLike | dict): Ground truth (:mod:`.vis_annotations`),
            with a video and a non-crowd annotation.
        results (str | PathLike | list[dict]): Results for it.
        gt_name (str, optional): Names it in messages (default: its path).

    Attributes:
        precision (np.ndarray): After :meth:`accumulate`, (T, R, K, S, M)
            over IoU thresholds, recall points, categories (sorted ids),
            :attr:`subset_names` and max detections; -1 where undefined.
        recall (np.ndarray): (T, K, S, M), the final recall.
    """

    iou_thresholds = np.linspace(.5, .95, 10)
    recall_thresholds = np.linspace(0., 1., 101)
    max_dets = (1, 10, 100)

    def __init__(self,
                 gt: Union[str, os.PathLike, dict],
                 results: Union[str, os.PathLike, list],
                 gt_name: Optional[str] = None) -> None:
        self.gt: VISGroundTruth = parse_ground_truth(gt, gt_name)
        check_evaluable(self.gt)
        self.dts: List[VideoInstance] = parse_results(results, self.gt)
        self.subsets = self._build_subsets()
        self._matches: Dict[Tuple[int, int], _Matches] = {}
        self._evaluated = False
        self.precision: Optional[np.ndarray] = None
        self.recall: Optional[np.ndarray] = None

    @property
    def subset_names(self) -> List[str]:
        """Area ranges, then ``<level>_occlusion`` subsets if any."""
        return [subset.name for subset in self.subsets]

    def _build_subsets(self) -> List[_Subset]:
        gt_area = np.array([g.mean_area for g in self.gt.instances])
        dt_area = np.array([d.mean_area for d in self.dts])
        subsets = [
            _Subset(name, (gt_area >= low) & (gt_area <= high),
                    (dt_area < low) | (dt_area > high))
            for name, (low, high) in AREA_RANGES.items()
        ]
        if self.gt.has_occlusion:
            scores = np.array(
                [g.occlusion_score for g in self.gt.instances], np.float64)
            subsets += [
                _Subset(f'{level}_occlusion',
                        (scores >= low) & (scores <= high),
                        np.zeros(len(self.dts), dtype=bool))
                for level, (low, high) in OCCLUSION_LEVELS.items()
            ]
        return subsets

    def evaluate(self, progress: bool = False) -> None:
        """Match predictions to ground truth in every video and category.

        Args:
            progress (bool): Show a progress bar over videos.
        """
        gts, dts = self.gt.instances, self.dts
        gt_videos, dt_videos = defaultdict(list), defaultdict(list)
        for i, inst in enumerate(gts):
            gt_videos[inst.video_id].append(i)
        for i, inst in enumerate(dts):
            dt_videos[inst.video_id].append(i)
        gt_category = np.array([g.category_id for g in gts], np.int64)
        dt_category = np.array([d.category_id for d in dts], np.int64)
        gt_crowd = np.array([g.iscrowd for g in gts], bool)
        dt_scores = np.array([d.score for d in dts], np.float64)
        # (S, N): ignored ground truth and predictions outside, per subset
        gt_ignored = np.array([~s.gt_kept for s in self.subsets],
                              bool).reshape(len(self.subsets), -1) | gt_crowd
        dt_outside = np.array([s.dt_outside for s in self.subsets],
                              bool).reshape(len(self.subsets), -1)
        category_index = {c: k for k, c in enumerate(self.gt.category_ids)}

        video_ids = sorted(self.gt.videos)
        if progress:
            from tqdm import tqdm
            video_ids = tqdm(video_ids, desc='VIS evaluation', unit='video')
        self._matches = {}
        for v, video_id in enumerate(video_ids):
            video_gts = np.array(gt_videos.get(video_id, ()), np.int64)
            video_dts = np.array(dt_videos.get(video_id, ()), np.int64)
            if video_gts.size == 0 and video_dts.size == 0:
                continue
            # predictions by score (stable: ties keep their input order)
            video_dts = video_dts[np.argsort(
                -dt_scores[video_dts], kind='mergesort')]
            ious = self._video_ious(video_dts, video_gts)
            # (sorted in Python: np.union1d would import numpy.ma, 40 ms)
            categories = sorted(
                set(gt_category[video_gts].tolist())
                | set(dt_category[video_dts].tolist()))
            for category_id in categories:
                in_gt = np.flatnonzero(gt_category[video_gts] == category_id)
                in_dt = np.flatnonzero(
                    dt_category[video_dts] == category_id)[:self.max_dets[-1]]
                gt_ids, dt_ids = video_gts[in_gt], video_dts[in_dt]
                self._matches[category_index[category_id], v] = self._match(
                    ious[np.ix_(in_dt, in_gt)], dt_scores[dt_ids],
                    gt_crowd[gt_ids], gt_ignored[:, gt_ids],
                    dt_outside[:, dt_ids])
        self._evaluated = True

    def _video_ious(self, dt_ids: np.ndarray,
                    gt_ids: np.ndarray) -> np.ndarray:
        """(D, G) sequence IoUs of predictions and ground truth of one
        video, of the pairs of one category (0 elsewhere: never used)."""
        ious = np.zeros((len(dt_ids), len(gt_ids)))
        dt_categories = [self.dts[i].category_id for i in dt_ids]
        gt_categories = [self.gt.instances[j].category_id for j in gt_ids]
        both = set(dt_categories) & set(gt_categories)
        rows = [d for d, c in enumerate(dt_categories) if c in both]
        cols = [g for g, c in enumerate(gt_categories) if c in both]
        if rows and cols:
            dts = [self.dts[dt_ids[d]] for d in rows]
            gts = [self.gt.instances[gt_ids[g]] for g in cols]
            dt_runs, dt_slots = stack_track_runs([d.mask_runs() for d in dts])
            gt_runs, gt_slots = stack_track_runs([g.mask_runs() for g in gts])
            ious[np.ix_(rows, cols)] = iou_from_intersections(
                track_intersections(dt_runs, dt_slots, gt_runs, gt_slots),
                np.stack([d.mask_areas() for d in dts]),
                np.stack([g.mask_areas() for g in gts]))
        return ious

    def _match(self, ious: np.ndarray, scores: np.ndarray,
               gt_crowd: np.ndarray, gt_ignored: np.ndarray,
               dt_outside: np.ndarray) -> _Matches:
        """Greedy matching of one video and category at every threshold,
        in every subset at once.

        Args:
            ious (np.ndarray): (D, G) IoUs, predictions by decreasing score.
            scores (np.ndarray): (D,) their scores.
            gt_crowd (np.ndarray): (G,) crowd flags.
            gt_ignored (np.ndarray): (S, G) ignore flags per subset.
            dt_outside (np.ndarray): (S, D) predictions outside each
                subset.
        """
        num_subsets, num_thrs = len(gt_ignored), len(self.iou_thresholds)
        num_dt, num_gt = ious.shape
        thresholds = np.minimum(self.iou_thresholds, 1 - 1e-10)
        shape = (num_subsets, num_thrs, num_dt)
        # a regular ground truth first, an ignored one only failing that;
        # the last of equal IoUs (as the official code): compiled
        matched, ignored = _greedy_match.greedy_match(
            np.ascontiguousarray(ious, dtype=np.float64),
            np.ascontiguousarray(gt_crowd, dtype=np.int8),
            np.ascontiguousarray(gt_ignored, dtype=np.int8),
            np.ascontiguousarray(dt_outside, dtype=np.int8), thresholds,
            num_dt, num_gt, num_subsets)
        return _Matches(
            scores,
            np.frombuffer(matched, dtype=np.bool_).reshape(shape),
            np.frombuffer(ignored, dtype=np.bool_).reshape(shape),
            np.count_nonzero(~gt_ignored, axis=1))

    def accumulate(self) -> None:
        """Precision at the recall points and final recall, per setting."""
        if not self._evaluated:
            raise RuntimeError('run evaluate() before accumulate()')
        num_thrs, num_rec = len(self.iou_thresholds), len(
            self.recall_thresholds)
        num_cats, num_subsets = len(self.gt.category_ids), len(self.subsets)
        num_videos, num_max = len(self.gt.videos), len(self.max_dets)
        self.precision = -np.ones(
            (num_thrs, num_rec, num_cats, num_subsets, num_max))
        self.recall = -np.ones((num_thrs, num_cats, num_subsets, num_max))
        for k in range(num_cats):
            groups = [
                self._matches[k, v] for v in range(num_videos)
                if (k, v) in self._matches
            ]
            if not groups:
                continue
            num_gt = np.sum([group.num_gt for group in groups], axis=0)
            for m, max_det in enumerate(self.max_dets):
                scores = np.concatenate([g.scores[:max_det] for g in groups])
                order = np.argsort(-scores, kind='mergesort')
                matched = np.concatenate(
                    [g.dt_matched[:, :, :max_det] for g in groups],
                    axis=2)[:, :, order]
                ignored = np.concatenate(
                    [g.dt_ignored[:, :, :max_det] for g in groups],
                    axis=2)[:, :, order]
                for s in np.flatnonzero(num_gt):
                    (self.precision[:, :, k, s, m],
                     self.recall[:, k, s, m]) = self._precision_recall(
                         matched[s], ignored[s], int(num_gt[s]))

    def _precision_recall(self, matched: np.ndarray, ignored: np.ndarray,
                          num_gt: int) -> Tuple[np.ndarray, np.ndarray]:
        """Interpolated precision (T, R) and final recall (T,).

        Args:
            matched (np.ndarray): (T, D) match flags, by decreasing score.
            ignored (np.ndarray): (T, D) ignore flags.
            num_gt (int): Number of regular ground truth (> 0).
        """
        num_thrs, num_dt = matched.shape
        if num_dt == 0:
            return (np.zeros(
                (num_thrs, len(self.recall_thresholds))), np.zeros(num_thrs))
        tp = np.cumsum(matched & ~ignored, axis=1, dtype=np.float64)
        fp = np.cumsum(~matched & ~ignored, axis=1, dtype=np.float64)
        recall = tp / num_gt
        precision = tp / (fp + tp + np.spacing(1))
        precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        at = np.stack([
            np.searchsorted(row, self.recall_thresholds, side='left')
            for row in recall
        ])
        sampled = np.take_along_axis(precision, np.minimum(at, num_dt - 1), 1)
        return np.where(at < num_dt, sampled, 0.), recall[:, -1]

    def summarize(self) -> Dict[str, float]:
        """The 12 stats of :data:`VIS_STAT_NAMES`, or with occlusion labels
        the 18 of :data:`OVIS_STAT_NAMES`.

        Returns:
            dict[str, float]: Values in [0, 1], -1 where undefined, in the
            order of :data:`VIS_STAT_NAMES` or :data:`OVIS_STAT_NAMES`.
        """
        if self.precision is None:
            raise RuntimeError('run accumulate() before summarize()')
        precision, recall = self.precision, self.recall
        subset = {name: s for s, name in enumerate(self.subset_names)}
        max100 = self.max_dets.index(100)
        iou50, iou75 = (
            int(np.flatnonzero(np.isclose(self.iou_thresholds, t))[0])
            for t in (.5, .75))
        stats = {
            'AP': precision[:, :, :, subset['all'], max100],
            'AP50': precision[iou50, :, :, subset['all'], max100],
            'AP75': precision[iou75, :, :, subset['all'], max100],
            'APs': precision[:, :, :, subset['small'], max100],
            'APm': precision[:, :, :, subset['medium'], max100],
            'APl': precision[:, :, :, subset['large'], max100],
        }
        for m, max_det in enumerate(self.max_dets):
            stats[f'AR{max_det}'] = recall[:, :, subset['all'], m]
        for name, short in (('small', 's'), ('medium', 'm'), ('large', 'l')):
            stats[f'AR{short}'] = recall[:, :, subset[name], max100]
        if not self.gt.has_occlusion:
            return {
                name: _mean_defined(stats[name])
                for name in VIS_STAT_NAMES
            }
        for level in OCCLUSION_LEVELS:
            s = subset[f'{level}_occlusion']
            stats[f'AP_{level}'] = precision[:, :, :, s, max100]
            stats[f'AR_{level}'] = recall[:, :, s, max100]
        return {name: _mean_defined(stats[name]) for name in OVIS_STAT_NAMES}


def evaluate_vis(gt: Union[str, os.PathLike, dict],
                 results: Union[str, os.PathLike, list],
                 progress: bool = False,
                 hota: bool = False,
                 hota_score_thr: Optional[float] = None,
                 hota_average: str = 'detection',
                 gt_name: Optional[str] = None) -> Dict[str, float]:
    """Evaluate YouTube-VIS / OVIS results.

    Args:
        gt (str | PathLike | dict): Ground truth json (path or dict).
        results (str | PathLike | list[dict]): Results, their json or zip.
        progress (bool): Show a progress bar.
        hota (bool): Also compute ``HOTA DetA AssA LocA IDF1`` (TrackEval).
        hota_score_thr (float, optional): HOTA keeps only the predictions
            scoring at least this (AP uses all).
        hota_average (str): ``'detection'`` or ``'class'``.
        gt_name (str, optional): Names it in messages (default: its path).

    Returns:
        dict[str, float]: :data:`VIS_STAT_NAMES` in [0, 1] (-1 where
        undefined), or :data:`OVIS_STAT_NAMES` with occlusion labels;
        then, with ``hota``, ``HOTA DetA AssA LocA IDF1``.
    """
    evaluator = VISEval(gt, results, gt_name)
    evaluator.evaluate(progress=progress)
    evaluator.accumulate()
    stats = evaluator.summarize()
    if hota:
        stats.update(
            hota_from_parsed(
                evaluator.gt,
                evaluator.dts,
                score_thr=hota_score_thr,
                average=hota_average,
                progress=progress))
    return stats


_STAT_SETTINGS = {
    'AP': ('0.50:0.95', 'all', 100),
    'AP50': ('0.50', 'all', 100),
    'AP75': ('0.75', 'all', 100),
    'APs': ('0.50:0.95', 'small', 100),
    'APm': ('0.50:0.95', 'medium', 100),
    'APl': ('0.50:0.95', 'large', 100),
    'AR1': ('0.50:0.95', 'all', 1),
    'AR10': ('0.50:0.95', 'all', 10),
    'AR100': ('0.50:0.95', 'all', 100),
    'ARs': ('0.50:0.95', 'small', 100),
    'ARm': ('0.50:0.95', 'medium', 100),
    'ARl': ('0.50:0.95', 'large', 100),
    # HOTA: mean over the alpha (IoU) thresholds 0.05:0.95, every
    # prediction (above the HOTA score threshold) counts
    'HOTA': ('0.05:0.95', 'all', 'all'),
    'DetA': ('0.05:0.95', 'all', 'all'),
    'AssA': ('0.05:0.95', 'all', 'all'),
    'LocA': ('0.05:0.95', 'all', 'all'),
    'IDF1': ('0.50', 'all', 'all'),
}


def format_vis_stats(stats: Dict[str, float],
                     names: Optional[Sequence[str]] = None) -> str:
    """A plain-text table of VIS stats (IoU, subset, max detections).

    Args:
        stats (dict[str, float]): Stats by name, -1 where undefined.
        names (Sequence[str], optional): Those to show (default: all).

    Returns:
        str: The table, one row per stat.
    """
    names = list(stats) if names is None else list(names)
    rows = [('stat', 'IoU', 'subset', 'maxDets', 'value')]
    for name in names:
        if name in _STAT_SETTINGS:
            iou, subset, max_det = _STAT_SETTINGS[name]
        else:
            iou, subset, max_det = ('0.50:0.95',
                                    name.split('_', 1)[-1] + ' occlusion', 100)
        value = stats[name]
        rows.append((name, iou, subset, str(max_det),
                     f'{value:.4f}' if value >= 0 else 'n/a (-1)'))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = [
        ' | '.join(cell.ljust(width)
                   for cell, width in zip(row, widths)).rstrip()
        for row in rows
    ]
    lines.insert(1, '-+-'.join('-' * width for width in widths))
    return '\n'.join(lines)
