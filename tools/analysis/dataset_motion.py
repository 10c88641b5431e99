"""How far objects move between annotated frames, relative to their size.

For every track and every two consecutive frames in which it is present,
the displacement of its box centre divided by its size, the square root
of the mean of the two box areas. Prints, per annotation file, the median,
mean and 90th percentile over all such frame pairs: a figure to set a
dataset against the premise of clip models that adjacent frames are
coherent (e.g. the synthetic presets against YouTube-VIS's train json).

Boxes come from each annotation's ``bboxes`` (YouTube-VIS / OVIS), else
from its ``segmentations``.

Usage:
    python tools/analysis/dataset_motion.py ANN.json [ANN.json ...]
        [--out TABLE.md]
"""
#: Runs no model: ``import mmvis_clip`` registers nothing (see
#: mmvis_clip/__init__.py).
__runs_no_model__ = True

import argparse
import sys
from typing import List, NamedTuple, Optional

import numpy as np

from mmvis_clip.structures.vis_format import VISFormatError, load_json
from mmvis_clip.utils.atomic_io import (refuse_overwriting_inputs,
                                        write_bytes_atomic)
from mmvis_clip.utils.user_errors import exit_on_user_error


class MotionStats(NamedTuple):
    """Relative displacements of one annotation file.

    Attributes:
        ratios (np.ndarray): (N,) displacement / size per frame pair.
        num_tracks (int): Annotations (tracks) read.
    """
    ratios: np.ndarray
    num_tracks: int


def _track_boxes(ann: dict, where: str) -> List[Optional[list]]:
    """Per frame, the ``[x, y, w, h]`` box of a track, or None."""
    if ann.get('bboxes') is not None:
        boxes = ann['bboxes']
        if not isinstance(boxes, list):
            raise VISFormatError(f'{where}: "bboxes" must be a list')
        return [box if box else None for box in boxes]
    segmentations = ann.get('segmentations')
    if not isinstance(segmentations, list):
        raise VISFormatError(
            f'{where}: neither "bboxes" nor "segmentations" is a list')
    from pycocotools import mask as mask_utils

    from mmvis_clip.structures.rle import segmentation_rle
    from mmvis_clip.structures.vis_format import check_segmentation
    boxes = []
    for frame_id, seg in enumerate(segmentations):
        if not seg:
            boxes.append(None)
            continue
        if not isinstance(seg, dict) or not isinstance(seg.get('size'),
                                                       list):
            raise VISFormatError(f'{where}, frame {frame_id}: a '
                                 'segmentation without "bboxes" must be an '
                                 'RLE with its "size"')
        height, width = seg['size']
        check_segmentation(seg, height, width, f'{where}, frame {frame_id}')
        boxes.append(
            mask_utils.toBbox(segmentation_rle(seg, height,
                                               width)).tolist())
    return boxes


def relative_motion(path: str) -> MotionStats:
    """Displacement / size over the consecutive present frames of every
    track of a YouTube-VIS json.

    Raises:
        VISFormatError: Naming the file, annotation and field at fault.
    """
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(
            data.get('annotations'), list):
        raise VISFormatError(f'{path}: no "annotations" list')
    ratios = []
    for i, ann in enumerate(data['annotations']):
        where = f'{path}: annotation {i} (id {ann.get("id")})' \
            if isinstance(ann, dict) else f'{path}: annotation {i}'
        if not isinstance(ann, dict):
            raise VISFormatError(f'{where}: not an object')
        boxes = _track_boxes(ann, where)
        for frame_id, box in enumerate(boxes):
            if box is not None and not (
                    len(box) == 4
                    and all(isinstance(v, (int, float)) for v in box)):
                raise VISFormatError(f'{where}, frame {frame_id}: a box '
                                     'must be 4 numbers [x, y, w, h]')
        for first, second in zip(boxes[:-1], boxes[1:]):
            if first is None or second is None:
                continue
            area = (first[2] * first[3] + second[2] * second[3]) / 2
            if area <= 0:
                continue
            dx = (second[0] + second[2] / 2) - (first[0] + first[2] / 2)
            dy = (second[1] + second[3] / 2) - (first[1] + first[3] / 2)
            ratios.append(np.hypot(dx, dy) / np.sqrt(area))
    return MotionStats(np.asarray(ratios, dtype=np.float64),
                       len(data['annotations']))


def motion_table(paths: List[str]) -> str:
    """A markdown table: per file, tracks, frame pairs, median, mean and
    90th percentile of displacement / size."""
    lines = [
        '| annotations | tracks | frame pairs | median | mean | 90th '
        'percentile |', '|---|---|---|---|---|---|'
    ]
    for path in paths:
        stats = relative_motion(path)
        if stats.ratios.size:
            median, mean, p90 = (np.median(stats.ratios),
                                 stats.ratios.mean(),
                                 np.percentile(stats.ratios, 90))
            figures = f'{median:.3f} | {mean:.3f} | {p90:.3f}'
        else:
            figures = '- | - | -'
        lines.append(f'| {path} | {stats.num_tracks} | '
                     f'{stats.ratios.size} | {figures} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Box-centre displacement between consecutive annotated '
        'frames relative to the box size, per YouTube-VIS annotation file')
    parser.add_argument('annotations', nargs='+', help='YouTube-VIS json')
    parser.add_argument('--out', help='also write the table to this file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with exit_on_user_error():
        refuse_overwriting_inputs(
            {'--out': args.out},
            [('annotation file', path) for path in args.annotations])
        table = motion_table(args.annotations)
        if args.out:
            write_bytes_atomic(table.encode('utf-8'), args.out)
    sys.stdout.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
