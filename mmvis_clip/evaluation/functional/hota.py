"""HOTA, DetA, AssA, LocA and IDF1 of VIS results through TrackEval.

HOTA (Luiten et al., "HOTA: A Higher Order Metric for Evaluating
Multi-Object Tracking", IJCV 2021) splits tracking quality into detection
accuracy (DetA, the per-frame Jaccard index of matched detections) and
association accuracy (AssA, how well matched detections keep one identity
over the video), with ``HOTA = sqrt(DetA * AssA)``; both are averaged over
the localisation thresholds alpha = 0.05, 0.10, ..., 0.95, and LocA is the
mean mask IoU of the matches. IDF1 (Ristani et al., ECCV 2016 workshops) is
the F1 score of the best one-to-one assignment of whole tracks at IoU 0.5.

Nothing of this is implemented here: the numbers come from the maintained
TrackEval package (``pip install trackeval``), its ``YouTubeVIS`` dataset
class and its ``HOTA`` and ``Identity`` metrics, run as its own YouTube-VIS
runner (``scripts/run_youtube_vis.py`` of the TrackEval repository) runs
them. This module only writes the parsed ground truth and results in the
layout and format that dataset class reads, in a temporary folder:

- ground truth with per-annotation ``height``/``width``, ``areas``,
  ``file_names`` (one folder per video) and uncompressed RLE masks (the
  class cannot read compressed RLEs; polygons become masks first), and
  annotation ids renumbered 1..N in file order (the class needs small
  non-negative ids; the numbers do not change);
- categories named after their ids (the class keys classes by name);
- the results as given (compressed RLEs), optionally without those scoring
  below ``score_thr``. Videos with no frame are left out (the class
  cannot read them; they hold no detection).

As in TrackEval's YouTube-VIS evaluation, every frame mask of a track is a
detection: crowd ground truth counts as regular ground truth, predictions
are not thresholded unless ``score_thr`` is given (low-score predictions
that cost AP little are false positives for DetA), and matching is within
a category. TrackEval combines the categories in two ways, both offered:
``'detection'`` (its ``cls_comb_det_av``: every detection of every
category counts once, the default here) and ``'class'`` (its
``cls_comb_cls_av``: the mean over the categories of the ground truth,
where a category without ground truth or predictions scores 0, as in
TrackEval).
"""
import contextlib
import io
import json
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from ...utils.vis_format import VISFormatError
from .vis_annotations import (VideoInstance, VISGroundTruth, mask_areas,
                              parse_ground_truth, parse_results)

HOTA_STAT_NAMES = ('HOTA', 'DetA', 'AssA', 'LocA', 'IDF1')
"""The HOTA stats, values in [0, 1]."""

HOTA_AVERAGES = {'detection': 'cls_comb_det_av', 'class': 'cls_comb_cls_av'}
"""Ways to combine categories, and TrackEval's name for each."""

_SPLIT = 'eval'
_TRACKER = 'results'


class HOTAUnavailableError(RuntimeError):
    """TrackEval, which computes HOTA, is not installed or fails to
    import."""


def _import_trackeval():
    try:
        import trackeval
    except ImportError as err:
        raise HOTAUnavailableError(
            'HOTA needs TrackEval: pip install trackeval (listed in '
            f'requirements.txt); importing it failed: {err}') from None
    return trackeval


def uncompressed_counts(counts: Union[str, bytes]) -> List[int]:
    """Run lengths of a compressed COCO RLE string.

    The compressed form stores each run length in 6-bit characters (5 bits
    of value, a continuation bit, offset 48, the last character
    sign-extended), runs after the second as differences to the run two
    before; this undoes both steps.

    Args:
        counts (str | bytes): The ``counts`` of a compressed RLE.

    Returns:
        list[int]: Alternating zero / one run lengths, column-major, zeros
        first: the ``counts`` of the uncompressed RLE of the same mask.
    """
    data = counts.encode('ascii') if isinstance(counts, str) else counts
    runs: List[int] = []
    pos = 0
    while pos < len(data):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(data):
                raise ValueError(f'truncated RLE counts {counts!r}')
            char = data[pos] - 48
            value |= (char & 0x1f) << shift
            more = bool(char & 0x20)
            pos += 1
            shift += 5
            if not more and char & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def _uncompressed(rle: Optional[dict]) -> Optional[dict]:
    if rle is None:
        return None
    return {
        'size': list(rle['size']),
        'counts': uncompressed_counts(rle['counts'])
    }


def _compressed(rle: Optional[dict]) -> Optional[dict]:
    if rle is None:
        return None
    counts = rle['counts']
    return {
        'size': list(rle['size']),
        'counts': counts.decode('ascii') if isinstance(counts, bytes) else
        counts
    }


def write_trackeval_files(gt: VISGroundTruth, dts: Sequence[VideoInstance],
                          folder: Union[str, os.PathLike]) -> dict:
    """Write ground truth and results where TrackEval's ``YouTubeVIS``
    dataset reads them.

    Args:
        gt (VISGroundTruth): Parsed ground truth.
        dts (Sequence[VideoInstance]): Parsed results (all are written).
        folder (str | PathLike): An empty folder.

    Returns:
        dict: The ``YouTubeVIS`` dataset config for these files.
    """
    folder = os.fspath(folder)
    gt_dir = osp.join(folder, 'gt', f'youtube_vis_{_SPLIT}')
    res_dir = osp.join(folder, 'trackers', f'youtube_vis_{_SPLIT}', _TRACKER,
                       'data')
    os.makedirs(gt_dir)
    os.makedirs(res_dir)
    videos = {vid: info for vid, info in gt.videos.items() if info.length}
    annotations = []
    for inst in gt.instances:
        if inst.video_id not in videos:
            continue
        video = videos[inst.video_id]
        areas = mask_areas(inst.rles)
        annotations.append(
            dict(
                id=len(annotations) + 1,
                video_id=inst.video_id,
                category_id=inst.category_id,
                iscrowd=int(inst.iscrowd),
                height=video.height,
                width=video.width,
                length=video.length,
                segmentations=[_uncompressed(rle) for rle in inst.rles],
                areas=[
                    None if rle is None else float(area)
                    for rle, area in zip(inst.rles, areas)
                ]))
    gt_json = dict(
        videos=[
            dict(
                id=vid,
                height=info.height,
                width=info.width,
                length=info.length,
                file_names=[
                    f'video_{vid}/{t:05d}.jpg' for t in range(info.length)
                ]) for vid, info in videos.items()
        ],
        annotations=annotations,
        categories=[
            dict(id=cat_id, name=f'category_{cat_id}')
            for cat_id in gt.category_ids
        ])
    results = [
        dict(
            video_id=dt.video_id,
            category_id=dt.category_id,
            score=dt.score,
            segmentations=[_compressed(rle) for rle in dt.rles])
        for dt in dts if dt.video_id in videos
    ]
    with open(osp.join(gt_dir, 'gt.json'), 'w') as f:
        json.dump(gt_json, f)
    with open(osp.join(res_dir, 'results.json'), 'w') as f:
        json.dump(results, f)
    return dict(
        GT_FOLDER=osp.join(folder, 'gt') + os.sep,
        TRACKERS_FOLDER=osp.join(folder, 'trackers') + os.sep,
        OUTPUT_FOLDER=osp.join(folder, 'output'),
        TRACKERS_TO_EVAL=[_TRACKER],
        SPLIT_TO_EVAL=_SPLIT,
        PRINT_CONFIG=False)


def trackeval_stats(combined: dict) -> Dict[str, float]:
    """The :data:`HOTA_STAT_NAMES` of one TrackEval combined result.

    Args:
        combined (dict): TrackEval's result of one tracker, sequence and
            class (or class combination), with ``'HOTA'`` and
            ``'Identity'`` entries.

    Returns:
        dict[str, float]: HOTA, DetA, AssA and LocA as means over the 19
        alpha thresholds (as TrackEval's summaries), and IDF1.
    """
    hota = combined['HOTA']
    stats = {
        name: float(np.mean(hota[name]))
        for name in ('HOTA', 'DetA', 'AssA', 'LocA')
    }
    stats['IDF1'] = float(combined['Identity']['IDF1'])
    return stats


def hota_from_parsed(gt: VISGroundTruth,
                     dts: Sequence[VideoInstance],
                     score_thr: Optional[float] = None,
                     average: str = 'detection',
                     progress: bool = False) -> Dict[str, float]:
    """HOTA stats of parsed ground truth and results (see module doc).

    Args:
        gt (VISGroundTruth): Parsed ground truth.
        dts (Sequence[VideoInstance]): Parsed results.
        score_thr (float, optional): Keep only predictions scoring at
            least this; ``None`` keeps all (TrackEval's behaviour).
        average (str): ``'detection'`` or ``'class'``, see
            :data:`HOTA_AVERAGES`.
        progress (bool): Show TrackEval's progress bar over videos.

    Returns:
        dict[str, float]: ``HOTA DetA AssA LocA IDF1`` in [0, 1].
    """
    if average not in HOTA_AVERAGES:
        raise ValueError(f'HOTA average must be one of '
                         f'{list(HOTA_AVERAGES)}, got {average!r}')
    if not gt.category_ids:
        raise VISFormatError('HOTA: the ground truth has no category')
    trackeval = _import_trackeval()
    if score_thr is not None:
        dts = [dt for dt in dts if dt.score >= score_thr]
    eval_config = dict(
        USE_PARALLEL=False,
        BREAK_ON_ERROR=True,
        LOG_ON_ERROR=None,
        PRINT_RESULTS=False,
        PRINT_CONFIG=False,
        TIME_PROGRESS=False,
        OUTPUT_SUMMARY=False,
        OUTPUT_DETAILED=False,
        PLOT_CURVES=False)
    with tempfile.TemporaryDirectory(prefix='hota_') as folder:
        dataset_config = write_trackeval_files(gt, dts, folder)
        # TrackEval prints its progress and configs on stdout
        with contextlib.redirect_stdout(io.StringIO()):
            evaluator = trackeval.Evaluator(eval_config)
            dataset = trackeval.datasets.YouTubeVIS(dataset_config)
            metrics = [
                trackeval.metrics.HOTA(),
                trackeval.metrics.Identity(
                    dict(THRESHOLD=0.5, PRINT_CONFIG=False))
            ]
            output, _ = evaluator.evaluate([dataset], metrics,
                                           show_progressbar=progress)
    combined = output[dataset.get_name()][_TRACKER]['COMBINED_SEQ']
    return trackeval_stats(combined[HOTA_AVERAGES[average]])


def evaluate_hota(gt: Union[str, os.PathLike, dict],
                  results: Union[str, os.PathLike, list],
                  score_thr: Optional[float] = None,
                  average: str = 'detection',
                  progress: bool = False) -> Dict[str, float]:
    """HOTA, DetA, AssA, LocA and IDF1 of YouTube-VIS / OVIS results.

    Args:
        gt (str | PathLike | dict): Ground truth json (path or dict).
        results (str | PathLike | list[dict]): Results: a list, or the path
            of a json file or of a submission zip with ``results.json``.
        score_thr (float, optional): Keep only predictions scoring at
            least this; ``None`` keeps all.
        average (str): ``'detection'`` or ``'class'``.
        progress (bool): Show a progress bar.

    Returns:
        dict[str, float]: ``HOTA DetA AssA LocA IDF1`` in [0, 1].
    """
    parsed = parse_ground_truth(gt)
    return hota_from_parsed(parsed, parse_results(results, parsed),
                            score_thr, average, progress)
