"""Per-frame diagnosis of VIS results: detection, category and id changes.

For every ground-truth object in every frame where it is present, the best
predicted mask of that frame (track score > ``--score-thr``) by mask IoU:

- ``frame recall``: share of object-frames whose best IoU is >= ``--iou``;
- ``category accuracy``: among those, share whose track has the object's
  category;
- ``track changes``: over each object's matched frames in order, how often
  the matched track differs from the previous frame's (0 for a perfectly
  kept identity; fragmentation and swaps both count).

Where the YouTube-VIS AP mixes all three, this says which one limits it.

And per track written (score > ``--score-thr``), in each video by
decreasing score, by its best sequence IoU (the evaluator's) with any
ground-truth object, whatever the categories:

- ``found``: >= ``--iou`` with an object no higher-scoring track took;
- ``duplicate``: >= ``--iou`` with an object already taken;
- ``partial``: between 0.1 and ``--iou`` (an object followed only in part,
  or imprecisely, or two objects mixed);
- ``background``: below 0.1.

Usage:
    python tools/analysis/frame_diagnosis.py GT.json RESULTS.json [...]
"""
#: Runs no model: ``import mmvis_clip`` registers nothing (see
#: mmvis_clip/__init__.py).
__runs_no_model__ = True

import argparse
import json
from typing import Dict, List

import numpy as np
from pycocotools import mask as mask_utils

from mmvis_clip.evaluation.functional.sequence_iou import sequence_mask_iou
from mmvis_clip.structures.rle import segmentation_rle
from mmvis_clip.structures.vis_format import load_json


def _rle(segmentation, height, width):
    return None if segmentation is None else segmentation_rle(
        segmentation, height, width)


def diagnose(gt: Dict, results: List[Dict], iou_thr: float = 0.5,
             score_thr: float = 0.1) -> Dict[str, float]:
    """Frame recall, category accuracy and track changes (see above).

    Args:
        gt (dict): YouTube-VIS ground truth (``videos``, ``annotations``
            with per-frame ``segmentations``).
        results (list[dict]): YouTube-VIS results (``video_id``,
            ``category_id``, ``score``, ``segmentations``).

    Returns:
        dict: ``frame_recall``, ``category_accuracy``, ``track_changes``
        and ``object_frames`` (the number of ground-truth object-frames).
    """
    sizes = {v['id']: (v['height'], v['width']) for v in gt['videos']}
    by_video: Dict[int, List[Dict]] = {}
    for res in results:
        if res['score'] > score_thr:
            by_video.setdefault(res['video_id'], []).append(res)
    total = hits = correct = changes = 0
    for ann in gt['annotations']:
        height, width = sizes[ann['video_id']]
        tracks = by_video.get(ann['video_id'], [])
        matched = []
        for t, seg in enumerate(ann['segmentations']):
            gt_rle = _rle(seg, height, width)
            if gt_rle is None:
                continue
            total += 1
            best, best_k = 0.0, None
            for k, res in enumerate(tracks):
                pred = _rle(res['segmentations'][t], height, width)
                if pred is None:
                    continue
                iou = mask_utils.iou([pred], [gt_rle], [0])[0][0]
                if iou > best:
                    best, best_k = iou, k
            if best_k is not None and best >= iou_thr:
                hits += 1
                correct += tracks[best_k]['category_id'] == ann[
                    'category_id']
                matched.append(best_k)
        changes += sum(a != b for a, b in zip(matched, matched[1:]))
    return dict(
        frame_recall=hits / max(total, 1),
        category_accuracy=correct / max(hits, 1),
        track_changes=changes,
        object_frames=total)


#: The kinds of tracks :func:`track_kinds` counts, in order.
TRACK_KINDS = ('found', 'duplicate', 'partial', 'background')


def track_kinds(gt: Dict, results: List[Dict], iou_thr: float = 0.5,
                score_thr: float = 0.1) -> Dict[str, int]:
    """The tracks written, by their best sequence IoU with an object (see
    the module doc).

    Args:
        gt (dict): YouTube-VIS ground truth.
        results (list[dict]): YouTube-VIS results.

    Returns:
        dict[str, int]: A count per kind of :data:`TRACK_KINDS`.
    """
    sizes = {v['id']: (v['height'], v['width']) for v in gt['videos']}
    objects: Dict[int, List[list]] = {}
    for ann in gt['annotations']:
        height, width = sizes[ann['video_id']]
        objects.setdefault(ann['video_id'], []).append(
            [_rle(s or None, height, width) for s in ann['segmentations']])
    by_video: Dict[int, List[Dict]] = {}
    for res in results:
        if res['score'] > score_thr:
            by_video.setdefault(res['video_id'], []).append(res)
    counts = dict.fromkeys(TRACK_KINDS, 0)
    for video_id, tracks in by_video.items():
        height, width = sizes[video_id]
        tracks = sorted(tracks, key=lambda r: -r['score'])
        masks = [[_rle(s or None, height, width) for s in r['segmentations']]
                 for r in tracks]
        video_objects = objects.get(video_id, [])
        ious = sequence_mask_iou(masks, video_objects) if video_objects \
            else np.zeros((len(tracks), 0))
        taken = set()
        for row in ious:
            best = int(np.argmax(row)) if row.size else -1
            iou = row[best] if row.size else 0.
            if iou >= iou_thr:
                counts['duplicate' if best in taken else 'found'] += 1
                taken.add(best)
            else:
                counts['partial' if iou >= 0.1 else 'background'] += 1
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('gt', help='YouTube-VIS ground-truth json')
    parser.add_argument('results', nargs='+', help='results json(s)')
    parser.add_argument('--iou', type=float, default=0.5)
    parser.add_argument('--score-thr', type=float, default=0.1)
    args = parser.parse_args(argv)
    gt = load_json(args.gt)
    print('| results | frame recall | category accuracy | track changes | '
          'tracks: ' + ' / '.join(TRACK_KINDS) + ' |')
    print('|---|---|---|---|---|')
    out = {}
    for path in args.results:
        with open(path) as f:
            results = json.load(f)
        stats = diagnose(gt, results, args.iou, args.score_thr)
        stats.update(track_kinds(gt, results, args.iou, args.score_thr))
        out[path] = stats
        print(f'| {path} | {stats["frame_recall"]:.3f} | '
              f'{stats["category_accuracy"]:.3f} | '
              f'{stats["track_changes"]} | ' +
              ' / '.join(str(stats[k]) for k in TRACK_KINDS) + ' |')
    return out


if __name__ == '__main__':
    main()
