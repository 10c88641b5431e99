"""Write the annotations of a YouTube-VIS json in another annotation format
(MOTS instances_txt / instances PNGs, per-frame COCO with track ids,
per-frame LabelMe), to try the converters ``tools/dataset_converters/
{mots,cocotrack,labelme}2ytvis.py`` on data you have, e.g. the synthetic
dataset, and to test them (``tests/test_*2ytvis.py``).

Example::

    python tools/misc/make_synthetic_vis.py --out data/synthetic_vis
    python tools/misc/export_ytvis.py \
        data/synthetic_vis/annotations/train.json --format mots-txt \
        --out data/synthetic_mots

Output folder ``OUT`` (must be absent or empty)::

    OUT/classes.json                 class map for the converter
    OUT/instances_txt/<seq>.txt      --format mots-txt
    OUT/instances/<seq>/<frame>.png  --format mots-png (every frame)
    OUT/annotations.json             --format coco-track
    OUT/annotations/<video>/<frame>.json   --format labelme

Frames are not copied: the converters read them where they are (the
folder the json's ``file_names`` are relative to). Videos are named by the
folder of their frames; instance ``k`` of a video (1, 2, ... in annotation
order) is MOTS ``obj_id = class * 1000 + k`` (class = category id, skipping
MOTS' ignore class 10), COCO ``attributes.track_id`` (numbered over the
file from 0, as CVAT does) and LabelMe ``group_id = k``. LabelMe and COCO
class names are the category names; MOTS classes are mapped back by
``source_classes`` in ``classes.json``.

Source ids are written back. An annotation's ``source_id`` (the id the
converters keep from the source files) becomes its COCO track id and
LabelMe ``group_id`` where it is an int, unique in its video (per class for
LabelMe); the video's other instances are numbered on from the largest. It
becomes the MOTS ``obj_id`` where all annotations of the category hold
``obj_id`` s (``class * 1000 + instance``, instance 1 to 999) of one
class, unique in their videos; that class is then the category's. Without
source ids, the numbering above.

Masks are written exactly (RLE, PNG) except for LabelMe, which holds
polygons: each connected part of a mask becomes one polygon shape along
its outline (pixel corners), so holes are filled and parts touching only
at a corner may merge.
"""
import argparse
import json
import os
import os.path as osp
from collections import Counter, defaultdict
from typing import Dict, List, Optional

import cv2
import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image

MOTS_IGNORE_CLASS = 10
FORMATS = ('mots-txt', 'mots-png', 'coco-track', 'labelme')


def decode(segmentation: Optional[dict]) -> Optional[np.ndarray]:
    """Bool mask (H, W) of a compressed RLE (``str`` or ``bytes`` counts);
    ``None`` for ``None``."""
    if segmentation is None:
        return None
    counts = segmentation['counts']
    if isinstance(counts, str):
        counts = counts.encode('ascii')
    return mask_utils.decode(
        dict(size=segmentation['size'], counts=counts)).astype(bool)


def video_instances(ytvis: dict) -> List[dict]:
    """Per video: ``name`` (folder of its frames), ``video`` (the record),
    ``stems`` (frame name stems), ``instances``: ``(k, annotation)`` with
    ``k`` = 1, 2, ... in annotation order."""
    out = []
    for video in ytvis['videos']:
        names = {osp.dirname(name) for name in video['file_names']}
        assert len(names) == 1, f'video {video["id"]} spans folders {names}'
        anns = [
            ann for ann in ytvis['annotations']
            if ann['video_id'] == video['id']
        ]
        out.append(
            dict(
                name=names.pop(),
                video=video,
                stems=[
                    osp.splitext(osp.basename(name))[0]
                    for name in video['file_names']
                ],
                instances=list(enumerate(anns, 1))))
    return out


def mots_class(category_id: int) -> int:
    """MOTS class id of a category id (10 is MOTS' ignore class)."""
    return category_id if category_id < MOTS_IGNORE_CLASS else \
        category_id + 1


def mots_obj_id(category_id: int, k: int) -> int:
    assert 1 <= k < 1000, f'MOTS holds at most 999 instances per class, {k}'
    return mots_class(category_id) * 1000 + k


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_mots_obj_id(value) -> bool:
    return _is_int(value) and value // 1000 not in (0, MOTS_IGNORE_CLASS) \
        and value % 1000 > 0


def source_mots_classes(ytvis: dict) -> Dict[int, int]:
    """Category id -> MOTS class id, for the categories whose annotations
    all hold a ``source_id`` that is a MOTS ``obj_id`` of one class,
    unique in its video (the first category to claim a class gets it)."""
    by_category = defaultdict(list)
    for ann in ytvis['annotations']:
        by_category[ann['category_id']].append(ann)
    claimed = {}
    for category in ytvis['categories']:
        anns = by_category[category['id']]
        if not anns or not all(
                _is_mots_obj_id(a.get('source_id')) for a in anns):
            continue
        classes = {a['source_id'] // 1000 for a in anns}
        per_video = Counter((a['video_id'], a['source_id']) for a in anns)
        if len(classes) == 1 and max(per_video.values()) == 1 and \
                min(classes) not in claimed.values():
            claimed[category['id']] = classes.pop()
    return claimed


def mots_classes(ytvis: dict, claimed: Dict[int, int]) -> Dict[int, int]:
    """Category id -> MOTS class id: the ``claimed`` class
    (:func:`source_mots_classes`), else :func:`mots_class` of the id, or
    the next class id not taken."""
    out, taken = dict(claimed), set(claimed.values()) | {MOTS_IGNORE_CLASS}
    for category in ytvis['categories']:
        if category['id'] not in out:
            mots = mots_class(category['id'])
            while mots in taken:
                mots += 1
            out[category['id']] = mots
            taken.add(mots)
    return out


def mots_obj_ids(entry: dict, classes: Dict[int, int],
                 claimed: Dict[int, int]) -> List[int]:
    """The MOTS ``obj_id`` of each instance of a video entry: its
    ``source_id`` where its category's class is ``claimed`` from the source
    ids, else ``class * 1000 + k``."""
    out = []
    for k, ann in entry['instances']:
        if ann['category_id'] in claimed:
            out.append(ann['source_id'])
        else:
            assert 1 <= k < 1000, \
                f'MOTS holds at most 999 instances per class, {k}'
            out.append(classes[ann['category_id']] * 1000 + k)
    return out


def source_ids(instances: List[tuple],
               key=lambda ann: None) -> Optional[List[int]]:
    """The ids to write for the instances ``(k, annotation)`` of a video:
    each ``source_id`` that is an int and unique in the video (together
    with ``key(annotation)``); the others numbered on from the largest of
    them. ``None`` when no instance has such a source id."""
    ids = [
        ann.get('source_id') if _is_int(ann.get('source_id')) else None
        for _, ann in instances
    ]
    count = Counter((key(ann), i) for (_, ann), i in zip(instances, ids)
                    if i is not None)
    ids = [
        i if i is not None and count[key(ann), i] == 1 else None
        for (_, ann), i in zip(instances, ids)
    ]
    kept = [i for i in ids if i is not None]
    if not kept:
        return None
    fresh = iter(range(max(kept) + 1, max(kept) + 1 + len(ids)))
    return [next(fresh) if i is None else i for i in ids]


def class_map(ytvis: dict, mots: bool) -> dict:
    """The converter's class map: the categories, and for MOTS the class
    ids as source names."""
    classes = [
        dict(name=c['name'], supercategory=c['supercategory'])
        if 'supercategory' in c else c['name'] for c in ytvis['categories']
    ]
    out = dict(classes=classes)
    if mots:
        mots_of = mots_classes(ytvis, source_mots_classes(ytvis))
        out['source_classes'] = {
            str(mots_of[c['id']]): c['name']
            for c in ytvis['categories']
        }
    return out


def _id_map(entry: dict, t: int, obj_ids: List[int]) -> np.ndarray:
    video = entry['video']
    ids = np.zeros((video['height'], video['width']), dtype=np.uint16)
    for (_, ann), obj_id in zip(entry['instances'], obj_ids):
        mask = decode(ann['segmentations'][t])
        if mask is None:
            continue
        assert not (ids[mask] > 0).any(), (
            f'video {entry["name"]} frame {t}: masks overlap; MOTS masks '
            'cannot')
        ids[mask] = obj_id
    return ids


def _video_obj_ids(ytvis: dict) -> List[tuple]:
    """``(entry, obj_ids)`` per video (:func:`video_instances`,
    :func:`mots_obj_ids`)."""
    claimed = source_mots_classes(ytvis)
    classes = mots_classes(ytvis, claimed)
    return [(entry, mots_obj_ids(entry, classes, claimed))
            for entry in video_instances(ytvis)]


def write_mots_txt(ytvis: dict, out_dir: str) -> None:
    """``out_dir/<seq>.txt``: ``frame obj_id class h w rle`` lines."""
    os.makedirs(out_dir)
    for entry, obj_ids in _video_obj_ids(ytvis):
        video = entry['video']
        lines = []
        for t, stem in enumerate(entry['stems']):
            for (_, ann), obj_id in zip(entry['instances'], obj_ids):
                segm = ann['segmentations'][t]
                if segm is None:
                    continue
                counts = segm['counts']
                if isinstance(counts, bytes):
                    counts = counts.decode('ascii')
                lines.append(f'{int(stem)} {obj_id} {obj_id // 1000} '
                             f'{video["height"]} {video["width"]} {counts}')
        with open(osp.join(out_dir, entry['name'] + '.txt'), 'w') as f:
            f.write(''.join(line + '\n' for line in lines))


def write_mots_pngs(ytvis: dict, out_dir: str) -> None:
    """``out_dir/<seq>/<frame>.png``: 16-bit ``obj_id`` (``class * 1000
    + k``, or the source's)."""
    for entry, obj_ids in _video_obj_ids(ytvis):
        folder = osp.join(out_dir, entry['name'])
        os.makedirs(folder)
        for t, stem in enumerate(entry['stems']):
            Image.fromarray(_id_map(entry, t, obj_ids)).save(
                osp.join(folder, stem + '.png'))


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE (``counts`` a list, column-major) of a bool
    mask (H, W)."""
    flat = mask.flatten(order='F').astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return dict(size=list(mask.shape), counts=counts)


def coco_track_json(ytvis: dict) -> dict:
    """Per-frame COCO json with ``attributes.track_id`` (CVAT layout)."""
    images, annotations = [], []
    next_track_id = 0
    for entry in video_instances(ytvis):
        video = entry['video']
        numbered = range(next_track_id,
                         next_track_id + len(entry['instances']))
        track_ids = source_ids(entry['instances']) or list(numbered)
        next_track_id += len(entry['instances'])
        first_image = len(images) + 1
        for t, file_name in enumerate(video['file_names']):
            images.append(
                dict(
                    id=first_image + t,
                    file_name=file_name,
                    width=video['width'],
                    height=video['height']))
        for (_, ann), track_id in zip(entry['instances'], track_ids):
            for t, segm in enumerate(ann['segmentations']):
                mask = decode(segm)
                if mask is None:
                    continue
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=first_image + t,
                        category_id=ann['category_id'],
                        segmentation=uncompressed_rle(mask),
                        area=float(mask.sum()),
                        bbox=ann['bboxes'][t],
                        iscrowd=0,
                        attributes=dict(
                            occluded=False, track_id=track_id,
                            keyframe=True)))
    return dict(
        info=dict(description='exported by tools/misc/export_ytvis.py'),
        licenses=[],
        categories=[
            dict(id=c['id'], name=c['name'], supercategory='')
            for c in ytvis['categories']
        ],
        images=images,
        annotations=annotations)


def outline_polygons(mask: np.ndarray) -> List[List[float]]:
    """One polygon ``[x0, y0, ...]`` per connected part of a bool mask
    (H, W), along the pixel corners of its outer boundary.

    The mask is upsampled 2x with each pixel's corner grid, so that the
    traced boundary runs along pixel edges (a pixel ``(x, y)`` covers
    ``[x, x + 1] x [y, y + 1]``, as COCO rasterizes polygons).
    """
    big = np.kron(mask.astype(np.uint8), np.ones((2, 2), np.uint8))
    padded = np.pad(big, 1)
    contours, _ = cv2.findContours(padded, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        points = contour[:, 0, :].astype(np.float64) - 1  # undo the pad
        # the contour runs through the centres of the boundary pixels of
        # the 2x mask: at 2x coordinate c (pixel c covers [c, c + 1]), the
        # original boundary corner is at (c + 1) // 2 on the outer side
        corners = np.where(points % 2 == 0, points / 2, (points + 1) / 2)
        corners = _drop_redundant(corners)
        if len(corners) >= 3:
            polygons.append(corners.reshape(-1).tolist())
    return polygons


def _drop_redundant(points: np.ndarray) -> np.ndarray:
    """Drop repeated points and points on a straight line between their
    neighbours from a closed polygon (N, 2)."""
    keep = np.any(points != np.roll(points, 1, axis=0), axis=1)
    points = points[keep] if keep.any() else points[:1]
    if len(points) < 3:
        return points
    before = points - np.roll(points, 1, axis=0)
    after = np.roll(points, -1, axis=0) - points
    cross = before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]
    return points[cross != 0]


def labelme_frames(ytvis: dict, image_root: str,
                   out_dir: str) -> Dict[str, dict]:
    """Relative json path -> LabelMe json of every frame with an
    instance."""
    out = {}
    for entry in video_instances(ytvis):
        video = entry['video']
        # an instance is (label, group_id) in LabelMe
        group_ids = source_ids(
            entry['instances'], key=lambda ann: ann['category_id']) or [
                k for k, _ in entry['instances']
            ]
        for t, file_name in enumerate(video['file_names']):
            shapes = []
            for (_, ann), group_id in zip(entry['instances'], group_ids):
                mask = decode(ann['segmentations'][t])
                if mask is None:
                    continue
                label = next(c['name'] for c in ytvis['categories']
                             if c['id'] == ann['category_id'])
                for polygon in outline_polygons(mask):
                    shapes.append(
                        dict(
                            label=label,
                            points=[[polygon[i], polygon[i + 1]]
                                    for i in range(0, len(polygon), 2)],
                            group_id=group_id,
                            description='',
                            shape_type='polygon',
                            flags={},
                            mask=None))
            if not shapes:
                continue
            rel = osp.join(entry['name'], entry['stems'][t] + '.json')
            json_dir = osp.dirname(osp.join(out_dir, rel))
            out[rel] = dict(
                version='5.4.1',
                flags={},
                shapes=shapes,
                imagePath=osp.relpath(
                    osp.join(image_root, file_name), json_dir),
                imageData=None,
                imageHeight=video['height'],
                imageWidth=video['width'])
    return out


def export(ann_file: str, fmt: str, out: str,
           image_root: Optional[str] = None) -> Dict[str, str]:
    """Write ``ann_file`` (YouTube-VIS, RLE masks) in format ``fmt``.

    Args:
        ann_file (str): The YouTube-VIS json.
        fmt (str): One of :data:`FORMATS`.
        out (str): Output folder (absent or empty).
        image_root (str, optional): The folder ``file_names`` are relative
            to (for LabelMe's ``imagePath``). Defaults to the synthetic
            layout, ``<ann_file's folder>/../train`` or ``../valid``
            ``/JPEGImages`` by the json's name.

    Returns:
        dict[str, str]: ``'class_map'`` and ``'annotations'`` -> path.
    """
    assert fmt in FORMATS, fmt
    with open(ann_file) as f:
        ytvis = json.load(f)
    if osp.isdir(out) and os.listdir(out):
        raise SystemExit(f'error: --out {out} is not empty')
    os.makedirs(out, exist_ok=True)
    if image_root is None:
        split = osp.splitext(osp.basename(ann_file))[0]
        image_root = osp.join(
            osp.dirname(osp.dirname(osp.abspath(ann_file))), split,
            'JPEGImages')
    paths = dict(class_map=osp.join(out, 'classes.json'))
    with open(paths['class_map'], 'w') as f:
        json.dump(class_map(ytvis, fmt.startswith('mots')), f, indent=1)
    if fmt == 'mots-txt':
        paths['annotations'] = osp.join(out, 'instances_txt')
        write_mots_txt(ytvis, paths['annotations'])
    elif fmt == 'mots-png':
        paths['annotations'] = osp.join(out, 'instances')
        write_mots_pngs(ytvis, paths['annotations'])
    elif fmt == 'coco-track':
        paths['annotations'] = osp.join(out, 'annotations.json')
        with open(paths['annotations'], 'w') as f:
            json.dump(coco_track_json(ytvis), f)
    else:
        paths['annotations'] = osp.join(out, 'annotations')
        for rel, content in labelme_frames(ytvis, image_root,
                                           paths['annotations']).items():
            path = osp.join(paths['annotations'], rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                json.dump(content, f, indent=1)
    return paths


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description='Write a YouTube-VIS json\'s annotations as MOTS, '
        'COCO with track ids or LabelMe, to try the converters')
    parser.add_argument('ann_file', help='YouTube-VIS json (RLE masks)')
    parser.add_argument('--format', required=True, choices=FORMATS)
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--images',
        default=None,
        help='folder the json\'s file_names are relative to (LabelMe '
        'imagePath; default: the synthetic layout)')
    args = parser.parse_args(argv)
    paths = export(args.ann_file, args.format, args.out, args.images)
    print(f'{args.format}: {paths["annotations"]}, class map '
          f'{paths["class_map"]}')


if __name__ == '__main__':
    main()
