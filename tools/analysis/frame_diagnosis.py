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

Usage:
    python tools/analysis/frame_diagnosis.py GT.json RESULTS.json [...]
"""
import argparse
import json
from typing import Dict, List

from pycocotools import mask as mask_utils

from mmvis_clip.utils.rle import segmentation_rle
from mmvis_clip.utils.vis_format import load_json


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('gt', help='YouTube-VIS ground-truth json')
    parser.add_argument('results', nargs='+', help='results json(s)')
    parser.add_argument('--iou', type=float, default=0.5)
    parser.add_argument('--score-thr', type=float, default=0.1)
    args = parser.parse_args(argv)
    gt = load_json(args.gt)
    print('| results | frame recall | category accuracy | track changes |')
    print('|---|---|---|---|')
    out = {}
    for path in args.results:
        with open(path) as f:
            stats = diagnose(gt, json.load(f), args.iou, args.score_thr)
        out[path] = stats
        print(f'| {path} | {stats["frame_recall"]:.3f} | '
              f'{stats["category_accuracy"]:.3f} | '
              f'{stats["track_changes"]} |')
    return out


if __name__ == '__main__':
    main()
