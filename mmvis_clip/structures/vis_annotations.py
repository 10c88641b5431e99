"""Parsing and validation of YouTube-VIS ground truth and results.

Ground truth (a dict or a json path), raw YouTube-VIS / OVIS format::

    videos:      [{id, width, height, length, file_names, ...}]
    annotations: [{id, video_id, category_id, iscrowd,
                   segmentations: [per frame: RLE | polygons | null],
                   areas: [per frame: float | null] (optional),
                   occlusion: [per frame: str | null] (optional, OVIS;
                               all annotations or none)}]
    categories:  [{id, name, ...}]

Results (a list, a json path or a submission zip with ``results.json``
at its root)::

    [{video_id, category_id, score,
      segmentations: [per frame: RLE | null] x video length}]

A frame segmentation is a compressed or uncompressed RLE of the video's
``[height, width]`` or a list of polygons; a falsy value (``None``, ``[]``,
``{}``) means absent, as in the official toolkit. The mean area (area
ranges) is the official ``avg_area``: the mean of the truthy ``areas`` of
the ground truth, else of the mask areas; 0 if none. The first error in
file order is raised, naming the file, annotation or result, and frame.
"""
import math
import os
from dataclasses import dataclass
from typing import Collection, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from pycocotools import mask as mask_utils

from .ovis_occlusion import occlusion_score
from .rle import FrameRuns, rle_track_runs, segmentation_rle
from .vis_format import (SegmentationBatch, VISFormatError, check_segmentation,
                         load_json)
from .vis_results_io import load_vis_results

PathOrDict = Union[str, os.PathLike, dict]
PathOrList = Union[str, os.PathLike, list]


@dataclass(frozen=True)
class VideoInfo:
    """A ground-truth video: ``length`` frames of ``height`` x ``width``."""
    id: int
    height: int
    width: int
    length: int


@dataclass
class VideoInstance:
    """One instance track, ground truth or prediction.

    Attributes:
        video_id (int): Its video.
        category_id (int): Its category.
        rles (list[dict | None]): Per frame, a compressed RLE or ``None``.
        mean_area (float): Mean area for the area ranges.
        score (float): Confidence (1 for ground truth).
        iscrowd (bool): Crowd ground truth (ignored when matching).
        ann_id (int | None): Ground-truth annotation id.
        occlusion_score (float | None): OVIS occlusion score, if labelled.
        frame_areas (np.ndarray | None): (F,) float64 area per frame, 0
            where absent (None: :meth:`mask_areas` computes it).
        frame_runs (FrameRuns | None): Run lengths, shared by a file's
            instances (None: :meth:`mask_runs` decodes ``rles``).
        run_slots (np.ndarray | None): (F,) int64, each frame's mask in
            ``frame_runs``, -1 where absent.
    """
    video_id: int
    category_id: int
    rles: List[Optional[dict]]
    mean_area: float
    score: float = 1.0
    iscrowd: bool = False
    ann_id: Optional[int] = None
    occlusion_score: Optional[float] = None
    frame_areas: Optional[np.ndarray] = None
    frame_runs: Optional[FrameRuns] = None
    run_slots: Optional[np.ndarray] = None

    def mask_runs(self) -> Tuple[FrameRuns, np.ndarray]:
        """The masks' run lengths and each frame's slot (-1: absent)."""
        if self.frame_runs is None:
            self.frame_runs, self.run_slots = rle_track_runs(self.rles)
        return self.frame_runs, self.run_slots

    def mask_areas(self) -> np.ndarray:
        """(F,) float64 mask area per frame, 0 where absent."""
        if self.frame_areas is None:
            self.frame_areas = mask_areas(self.rles)
        return self.frame_areas


@dataclass
class VISGroundTruth:
    """Parsed ground truth.

    Attributes:
        videos (dict[int, VideoInfo]): Videos by id.
        category_ids (list[int]): Sorted ids of the ``categories``.
        instances (list[VideoInstance]): Annotations in file order.
        has_occlusion (bool): Whether they carry OVIS ``occlusion`` labels.
        source (str): Names the ground truth in messages (its file).
    """
    videos: Dict[int, VideoInfo]
    category_ids: List[int]
    instances: List[VideoInstance]
    has_occlusion: bool
    source: str = 'ground truth'


def _source_name(source) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else ''


def _require(record: dict, key: str, where: str):
    if not isinstance(record, dict) or key not in record:
        raise VISFormatError(f'{where}: missing field {key!r}')
    return record[key]


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, bool)


def frame_rle(segmentation, video: VideoInfo, where: str) -> Optional[dict]:
    """Check one frame's segmentation and convert it to a compressed RLE.

    Args:
        segmentation: RLE dict, polygon list, or falsy (absent).
        video (VideoInfo): The video, whose size the mask must have.
        where (str): Names the annotation/result and frame in errors.

    Returns:
        dict | None: ``{'size': [h, w], 'counts': bytes}``, ``None``
        for an absent instance.
    """
    if not segmentation:
        return None
    height, width = video.height, video.width
    check_segmentation(segmentation, height, width, where)
    return segmentation_rle(segmentation, height, width)


def _frame_slots(segmentations, video: VideoInfo, where: str,
                 batch: SegmentationBatch) -> List[int]:
    """Check a track's ``segmentations`` and add its frames to ``batch``;
    their slots there (-1: absent)."""
    if not isinstance(segmentations, list):
        raise VISFormatError(f'{where}: "segmentations" must be a list')
    if len(segmentations) != video.length:
        raise VISFormatError(
            f'{where}: video {video.id} has {video.length} frames but '
            f'{len(segmentations)} segmentations were given')
    return batch.add_track(segmentations, video.height, video.width, where)


def _finish_tracks(batch: SegmentationBatch,
                   tracks: Sequence[Tuple[VideoInstance, List[int]]],
                   mean_of_masks: Sequence[bool]) -> None:
    """Give each instance its RLEs and mask areas from the checked
    ``batch`` (and, where ``mean_of_masks``, its mean area from them).
    """
    rles, areas, runs = batch.finish()
    rles.append(None)  # slot -1
    areas = np.append(areas, 0.)
    for (inst, slots), from_masks in zip(tracks, mean_of_masks):
        inst.rles = [rles[slot] for slot in slots]
        inst.frame_areas = areas[slots]
        inst.frame_runs = runs
        inst.run_slots = np.array(slots, dtype=np.int64)
        if from_masks:
            inst.mean_area = _mean_truthy(inst.frame_areas.tolist())


def _parse_tracks(records: Sequence, parse) -> List[VideoInstance]:
    """``parse(i, record, batch) -> (instance, slots, mean_of_masks)`` (or
    None to skip the record) over ``records``, then the frames of all
    checked together; the first error in record order is raised."""
    batch = SegmentationBatch()
    tracks, mean_of_masks = [], []
    try:
        for i, record in enumerate(records):
            parsed = parse(i, record, batch)
            if parsed is None:
                continue
            inst, slots, from_masks = parsed
            tracks.append((inst, slots))
            mean_of_masks.append(from_masks)
    except VISFormatError:
        batch.raise_first_problem()  # an earlier frame's
        raise
    _finish_tracks(batch, tracks, mean_of_masks)
    return [inst for inst, _ in tracks]


def _mean_truthy(values: Sequence) -> float:
    """Mean of the truthy values (the official ``avg_area``), else 0."""
    kept = [v for v in values if v]
    return float(np.asarray(kept, dtype=np.float64).mean()) if kept else 0.


def mask_areas(rles: Sequence[Optional[dict]]) -> np.ndarray:
    """Per-frame mask areas, shape (F,), 0 where absent."""
    areas = np.zeros(len(rles), dtype=np.float64)
    present = [i for i, rle in enumerate(rles) if rle is not None]
    if present:
        areas[present] = mask_utils.area([rles[i] for i in present])
    return areas


def _require_int(record: dict,
                 key: str,
                 where: str,
                 minimum: Optional[int] = None) -> int:
    value = _require(record, key, where)
    if not (_is_number(value) and math.isfinite(value)
            and value == int(value)) or (minimum is not None
                                         and value < minimum):
        kind = 'an integer' if minimum is None else \
            f'an integer >= {minimum}'
        raise VISFormatError(
            f'{where}: field {key!r} must be {kind}, got {value!r}')
    return int(value)


def _parse_video(video: dict, where: str) -> VideoInfo:
    video_id = _require_int(video, 'id', where)
    where = f'{where} (id {video_id})'
    height = _require_int(video, 'height', where, 1)
    width = _require_int(video, 'width', where, 1)
    if 'length' in video:
        length = _require_int(video, 'length', where, 1)
    elif isinstance(video.get('file_names'), list):
        length = len(video['file_names'])
    else:
        raise VISFormatError(f'{where}: needs "length" or a list '
                             '"file_names"')
    return VideoInfo(video_id, height, width, length)


def _parse_gt_annotation(
        ann: dict, where: str, videos: Dict[int, VideoInfo],
        category_ids: set, has_occlusion: bool, batch: SegmentationBatch
) -> Tuple[VideoInstance, List[int], bool]:
    """One annotation: the instance (RLEs to come from ``batch``), its
    frames' slots and whether its mean area is that of its masks."""
    ann_id = _require(ann, 'id', where)
    where = f'{where} (id {ann_id})'
    video_id = _require(ann, 'video_id', where)
    if video_id not in videos:
        raise VISFormatError(f'{where}: unknown video_id {video_id}')
    category_id = _require(ann, 'category_id', where)
    if category_id not in category_ids:
        raise VISFormatError(f'{where}: unknown category_id {category_id}')
    video = videos[video_id]
    slots = _frame_slots(
        _require(ann, 'segmentations', where), video, where, batch)
    mean_area = 0.
    if ann.get('areas') is not None:
        areas = ann['areas']
        if not isinstance(areas, list) or len(areas) != video.length or \
                not all(a is None or _is_number(a) for a in areas):
            raise VISFormatError(
                f'{where}: "areas" must list {video.length} numbers or nulls')
        mean_area = _mean_truthy(areas)
    score = None
    if has_occlusion:
        labels = ann.get('occlusion')
        if labels is None:
            raise VISFormatError(
                f'{where}: no "occlusion" labels while other annotations '
                'have them; the OVIS occlusion levels need them on every '
                'annotation')
        if not isinstance(labels, list) or len(labels) != video.length:
            raise VISFormatError(
                f'{where}: "occlusion" must list {video.length} labels')
        score = occlusion_score(labels, where)
    return VideoInstance(
        video_id=video_id,
        category_id=category_id,
        rles=[],
        mean_area=mean_area,
        iscrowd=bool(ann.get('iscrowd', 0)),
        ann_id=ann_id,
        occlusion_score=score), slots, ann.get('areas') is None


def parse_ground_truth(gt: PathOrDict,
                       name: Optional[str] = None) -> VISGroundTruth:
    """Parse and validate YouTube-VIS ground truth (dict or json path).

    Args:
        gt (str | PathLike | dict): The ground truth or its json file.
        name (str, optional): Names it in messages; defaults to the path,
            or ``'ground truth'`` for a dict.

    Returns:
        VISGroundTruth: The parsed ground truth.
    """
    source = _source_name(gt)
    if source:
        gt = load_json(source)
    name = name or source or 'ground truth'
    if not isinstance(gt, dict):
        raise VISFormatError(f'{name}: expected a json object')
    for key in ('videos', 'annotations', 'categories'):
        if not isinstance(gt.get(key), list):
            raise VISFormatError(f'{name}: needs a list "{key}"')

    videos = {}
    for i, video in enumerate(gt['videos']):
        info = _parse_video(video, f'{name}: videos[{i}]')
        if info.id in videos:
            raise VISFormatError(f'{name}: duplicate video id {info.id}')
        videos[info.id] = info
    category_ids = [
        _require(cat, 'id', f'{name}: categories[{i}]')
        for i, cat in enumerate(gt['categories'])
    ]
    if len(set(category_ids)) != len(category_ids):
        raise VISFormatError(f'{name}: duplicate category ids')

    has_occlusion = any(
        isinstance(ann, dict) and ann.get('occlusion') is not None
        for ann in gt['annotations'])
    known_categories, ann_ids = set(category_ids), set()

    def parse(i, ann, batch):
        parsed = _parse_gt_annotation(ann, f'{name}: annotations[{i}]',
                                      videos, known_categories,
                                      has_occlusion, batch)
        if parsed[0].ann_id in ann_ids:
            raise VISFormatError(
                f'{name}: duplicate annotation id {parsed[0].ann_id}')
        ann_ids.add(parsed[0].ann_id)
        return parsed

    instances = _parse_tracks(gt['annotations'], parse)
    return VISGroundTruth(videos, sorted(category_ids), instances,
                          has_occlusion, name)


def check_evaluable(gt: VISGroundTruth) -> None:
    """Refuse ground truth without a video or a non-crowd annotation.

    Raises:
        VISFormatError: Naming the ground truth's file.
    """
    if not gt.videos:
        raise VISFormatError(f'{gt.source}: the ground truth has no video; '
                             'nothing to evaluate')
    if not any(not inst.iscrowd for inst in gt.instances):
        what = 'only crowd annotations' if gt.instances else \
            'no annotation'
        raise VISFormatError(
            f'{gt.source}: the ground truth has {what} in its '
            f'{len(gt.videos)} videos; nothing to evaluate (a split without '
            'ground truth is scored by its evaluation server: write the '
            'results with tools/test.py --format-only --out DIR)')


def read_results_list(results: PathOrList,
                      name: Optional[str] = None) -> Tuple[list, str]:
    """A results list, or the list of a results file, and its name.

    Args:
        results (str | PathLike | list[dict]): The results, or their json
            file or submission zip.
        name (str, optional): Names them in messages (default: the path
            or ``'results'``).

    Returns:
        tuple[list, str]: The list and its name.

    Raises:
        VISFormatError: Not a list.
    """
    source = _source_name(results)
    if source:
        results = load_vis_results(source)
    name = name or source or 'results'
    if isinstance(results, dict):
        present = [key for key in RESULT_FIELDS if key in results]
        if not present:
            raise VISFormatError(
                f'{name}: not YouTube-VIS results: expected a list of '
                '{video_id, category_id, score, segmentations}, found a '
                f'json object with keys {sorted(results)[:6]}'
                f'{_looks_like_ground_truth(results)}')
        missing = [key for key in RESULT_FIELDS if key not in results]
        lacks = f"result 0: missing field {missing[0]!r}; also, " \
            if missing else ''
        raise VISFormatError(
            f'{name}: {lacks}expected a list of results, found a single '
            'json object (one result?): write them as [ {...}, ... ]')
    if not isinstance(results, list):
        kind = 'null' if results is None else 'boolean' if isinstance(
            results, bool) else 'number' if isinstance(
                results, (int, float)) else 'string' if isinstance(
                    results, str) else type(results).__name__
        raise VISFormatError(
            f'{name}: expected a list of results, found a {kind}')
    return results, name


#: The fields of a YouTube-VIS result, in the order they are checked.
RESULT_FIELDS = ('video_id', 'category_id', 'score', 'segmentations')


def _looks_like_ground_truth(data: dict) -> str:
    return ' (ground truth?)' if {'videos', 'annotations'} & set(data) \
        else ''


def _parse_result(
        result: dict, where: str, video: VideoInfo,
        category_ids: Optional[Collection[int]], batch: SegmentationBatch
) -> Tuple[VideoInstance, List[int], bool]:
    """Parse one result of ``video`` (as :func:`_parse_gt_annotation`);
    ``category_ids`` None accepts any integer category id."""
    where = f'{where} (video {video.id})'
    if category_ids is None:
        category_id = _require_int(result, 'category_id', where)
    else:
        category_id = _require(result, 'category_id', where)
        if category_id not in category_ids:
            raise VISFormatError(f'{where}: unknown category_id {category_id}')
    score = _require(result, 'score', where)
    if not _is_number(score) or not math.isfinite(score):
        raise VISFormatError(f'{where}: score must be a finite number')
    slots = _frame_slots(
        _require(result, 'segmentations', where), video, where, batch)
    return VideoInstance(
        video_id=video.id,
        category_id=category_id,
        rles=[],
        mean_area=0.,
        score=float(score)), slots, True


def parse_results(results: PathOrList,
                  gt: VISGroundTruth) -> List[VideoInstance]:
    """Parse and validate YouTube-VIS results against parsed ground truth.

    Args:
        results (str | PathLike | list[dict]): The results, or their json
            file or submission zip.
        gt (VISGroundTruth): Ground truth they refer to.

    Returns:
        list[VideoInstance]: One per result, in input order.
    """
    results, name = read_results_list(results)
    category_ids = set(gt.category_ids)

    def parse(i, result, batch):
        where = f'{name}: result {i}'
        video_id = _require(result, 'video_id', where)
        if video_id not in gt.videos:
            raise VISFormatError(f'{where}: unknown video_id {video_id}')
        return _parse_result(result, where, gt.videos[video_id],
                             category_ids, batch)

    return _parse_tracks(results, parse)


def parse_video_results(
        results: PathOrList,
        video: VideoInfo,
        category_ids: Optional[Collection[int]] = None,
        name: Optional[str] = None) -> List[Tuple[int, VideoInstance]]:
    """Parse and validate the results of one video (every entry needs a
    ``video_id``; those of other videos are skipped).

    Args:
        results (str | PathLike | list[dict]): The results, or their json
            file or submission zip.
        video (VideoInfo): The video whose results are wanted.
        category_ids (Collection[int], optional): The known category ids;
            None accepts any integer.
        name (str, optional): Names the results in messages; defaults to
            the path or ``'results'``.

    Returns:
        list[tuple[int, VideoInstance]]: (index in ``results``, parsed
        result) of each result of ``video``, in input order.
    """
    results, name = read_results_list(results, name)
    indices = []

    def parse(i, result, batch):
        where = f'{name}: result {i}'
        if _require_int(result, 'video_id', where) != video.id:
            return None
        indices.append(i)
        return _parse_result(result, where, video, category_ids, batch)

    return list(zip(indices, _parse_tracks(results, parse)))


def results_video_ids(results: PathOrList,
                      name: Optional[str] = None) -> List[int]:
    """The distinct ``video_id`` s of a results list or file, sorted
    (``name`` as for :func:`parse_video_results`)."""
    results, name = read_results_list(results, name)
    return sorted({
        _require_int(result, 'video_id', f'{name}: result {i}')
        for i, result in enumerate(results)
    })
