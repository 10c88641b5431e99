"""HOTA, DetA, AssA, LocA and IDF1 of VIS results through TrackEval.

HOTA: Luiten et al., "HOTA: A Higher Order Metric for Evaluating
Multi-Object Tracking", IJCV 2021; IDF1: Ristani et al., ECCV 2016
workshops. The numbers come from TrackEval's ``YouTubeVIS`` dataset class
and its ``HOTA`` and ``Identity`` metrics, run as its
``scripts/run_youtube_vis.py`` runs them. This module hands that class,
in memory, the json it reads (:func:`trackeval_data`): uncompressed RLE
masks, annotation ids renumbered 1..N, categories named after their ids,
videos without frames left out. Every frame mask is a detection, crowds
included; combining the categories: docs/train_test.md, "HOTA".
"""
import contextlib
import io
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...structures.rle import COUNTS_STRING_PROBLEMS, decode_counts_strings
from ...structures.vis_annotations import (VideoInstance, VISGroundTruth,
                                           parse_ground_truth, parse_results)
from ...structures.vis_format import VISFormatError

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

    Args:
        counts (str | bytes): The ``counts`` of a compressed RLE.

    Returns:
        list[int]: The ``counts`` of the uncompressed RLE of the same mask
        (column-major, zeros first).
    """
    decoded = decode_counts_strings([counts])
    if decoded.problems[0]:
        raise ValueError(f'RLE counts {counts!r} '
                         f'{COUNTS_STRING_PROBLEMS[decoded.problems[0]]}')
    return decoded.runs.tolist()


def _uncompressed_tracks(
        tracks: Sequence[Sequence[Optional[dict]]]) -> List[list]:
    """The frames of tracks of compressed RLEs as uncompressed RLEs (None
    where absent), every string decoded at once."""
    present = [rle for track in tracks for rle in track if rle is not None]
    decoded = decode_counts_strings([rle['counts'] for rle in present])
    assert not decoded.problems.any(), 'RLEs the parsers accepted'
    bounds = decoded.offsets.tolist()
    runs = iter(
        decoded.runs[bounds[i]:bounds[i + 1]].tolist()
        for i in range(len(present)))
    return [[
        None if rle is None else {
            'size': list(rle['size']),
            'counts': next(runs)
        } for rle in track
    ] for track in tracks]


def _compressed(rle: Optional[dict]) -> Optional[dict]:
    if rle is None:
        return None
    counts = rle['counts']
    return {
        'size': list(rle['size']),
        'counts': counts.decode('ascii') if isinstance(counts, bytes) else
        counts
    }


def trackeval_data(gt: VISGroundTruth,
                   dts: Sequence[VideoInstance]) -> Tuple[dict, list]:
    """The ground truth and results json of TrackEval's ``YouTubeVIS``.

    Args:
        gt (VISGroundTruth): Parsed ground truth.
        dts (Sequence[VideoInstance]): Parsed results (all are given).

    Returns:
        tuple[dict, list]: The ground truth and the results.
    """
    videos = {vid: info for vid, info in gt.videos.items() if info.length}
    instances = [inst for inst in gt.instances if inst.video_id in videos]
    annotations = []
    for inst, segmentations in zip(
            instances, _uncompressed_tracks([i.rles for i in instances])):
        video = videos[inst.video_id]
        areas = inst.mask_areas()
        annotations.append(
            dict(
                id=len(annotations) + 1,
                video_id=inst.video_id,
                category_id=inst.category_id,
                iscrowd=int(inst.iscrowd),
                height=video.height,
                width=video.width,
                length=video.length,
                segmentations=segmentations,
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
    return gt_json, results


def _trackeval_layout(folder: str) -> Tuple[str, str, dict]:
    """The ground truth and results json paths TrackEval's ``YouTubeVIS``
    reads under ``folder`` (their folders made), and its config."""
    gt_dir = osp.join(folder, 'gt', f'youtube_vis_{_SPLIT}')
    res_dir = osp.join(folder, 'trackers', f'youtube_vis_{_SPLIT}', _TRACKER,
                       'data')
    os.makedirs(gt_dir)
    os.makedirs(res_dir)
    config = dict(
        GT_FOLDER=osp.join(folder, 'gt') + os.sep,
        TRACKERS_FOLDER=osp.join(folder, 'trackers') + os.sep,
        OUTPUT_FOLDER=osp.join(folder, 'output'),
        TRACKERS_TO_EVAL=[_TRACKER],
        SPLIT_TO_EVAL=_SPLIT,
        PRINT_CONFIG=False)
    return osp.join(gt_dir, 'gt.json'), osp.join(res_dir,
                                                 'results.json'), config


def write_trackeval_files(gt: VISGroundTruth, dts: Sequence[VideoInstance],
                          folder: Union[str, os.PathLike]) -> dict:
    """Write ground truth and results where TrackEval's ``YouTubeVIS``
    dataset reads them (:func:`trackeval_data`).

    Args:
        gt (VISGroundTruth): Parsed ground truth.
        dts (Sequence[VideoInstance]): Parsed results (all are written).
        folder (str | PathLike): An empty folder.

    Returns:
        dict: The ``YouTubeVIS`` dataset config for these files.
    """
    gt_path, res_path, config = _trackeval_layout(os.fspath(folder))
    for path, data in zip((gt_path, res_path), trackeval_data(gt, dts)):
        with open(path, 'w') as f:
            f.write(json.dumps(data))
    return config


@contextlib.contextmanager
def _json_in_memory(module, data: Dict[str, object]) -> Iterator[None]:
    """Within: ``module``'s ``json.load`` of a file in ``data`` returns
    its object (the file itself holds a placeholder)."""
    real = module.json

    class _Reader:

        @staticmethod
        def load(f, *args, **kwargs):
            path = osp.realpath(getattr(f, 'name', ''))
            if path in data:
                return data[path]
            return real.load(f, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    module.json = _Reader()
    try:
        yield
    finally:
        module.json = real


def trackeval_stats(combined: dict) -> Dict[str, float]:
    """The :data:`HOTA_STAT_NAMES` of one TrackEval combined result.

    Args:
        combined (dict): TrackEval's result of one tracker, sequence and
            class (combination), with ``'HOTA'`` and ``'Identity'``.

    Returns:
        dict[str, float]: HOTA, DetA, AssA, LocA (means over the 19 alpha
        thresholds, as TrackEval's summaries) and IDF1.
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
    """HOTA stats of parsed ground truth and results.

    Args:
        gt (VISGroundTruth): Parsed ground truth.
        dts (Sequence[VideoInstance]): Parsed results.
        score_thr (float, optional): Keep only predictions scoring at
            least this; ``None`` keeps all (as TrackEval).
        average (str): ``'detection'`` or ``'class'`` (:data:`HOTA_AVERAGES`).
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
        gt_path, res_path, dataset_config = _trackeval_layout(folder)
        data = dict(zip((gt_path, res_path), trackeval_data(gt, dts)))
        for path in data:  # TrackEval looks for one json file per folder
            with open(path, 'w') as f:
                f.write('null')
        # TrackEval prints its progress and configs on stdout
        with contextlib.redirect_stdout(io.StringIO()), _json_in_memory(
                sys.modules[trackeval.datasets.YouTubeVIS.__module__],
                {osp.realpath(path): obj
                 for path, obj in data.items()}):
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
        results (str | PathLike | list[dict]): Results, their json or zip.
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
