"""Convert raw YouTube-VIS 2019/2021 and OVIS json to the CocoVID json
that mmdet's video datasets read (one split at a time, original ids kept).

Raw (input) format, one split::

    {
      "videos": [{"id", "width", "height", "file_names": [str] * L,
                  "length" (optional, must equal L)}],
      "categories": [{"id", "name", ...}],
      "annotations": [{"id", "video_id", "category_id", "iscrowd",
                       "segmentations": [RLE | polygons | null] * L,
                       "bboxes": [[x, y, w, h] | null] * L   (optional),
                       "areas": [number | null] * L          (optional),
                       "occlusion": [label | null] * L       (OVIS, optional)
                      }]   (absent or empty for valid/test splits)
    }

CocoVID (output) format::

    {
      "categories": copied unchanged (ids and names kept),
      "videos": [{"id" (kept), "name", "width", "height", "length"}],
      "images": [{"id" (1, 2, ... over the split), "video_id" (kept),
                  "frame_id" (0-based), "file_name", "width", "height"}],
      "annotations": [{"id" (1, 2, ...), "image_id", "video_id",
                       "category_id" (kept), "instance_id" (= raw
                       annotation id), "bbox" [x, y, w, h], "area",
                       "segmentation" (raw format kept), "iscrowd",
                       "occlusion" (only when the raw json has it)}]
    }

A ``null`` segmentation gives no annotation; a ``null`` or missing
bbox/area is computed from the mask. Every segmentation is checked against
its frame (``check_segmentation``); errors name the file, video,
annotation and frame.

Directory mode (:func:`convert_vis_data_root`) reads the official layouts
and writes mmdet's file names:

=========  =====================================  =========================
version    raw json (under ``data_root``)         CocoVID json (``out_dir``)
=========  =====================================  =========================
``2019``   ``{split}.json``                       ``youtube_vis_2019_{split}.json``
``2021``   ``{split}/instances.json``             ``youtube_vis_2021_{split}.json``
``ovis``   ``annotations_{split}.json``           ``ovis_{split}.json``
=========  =====================================  =========================

``split`` is one of ``train``, ``valid``, ``test`` (missing ones are
skipped); ``out_dir`` defaults to ``data_root/annotations``.
"""  # noqa: E501
import argparse
import math
import os.path as osp
import posixpath
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Union

import pycocotools.mask as mask_utils
from tqdm import tqdm

from ...structures.rle import segmentation_rle
from ...structures.vis_format import (VISFormatError, check_segmentation,
                                      load_json)
from ...utils.atomic_io import dump_json_atomic, refuse_overwriting_inputs
from ...utils.user_errors import exit_on_user_error

VIS_SPLITS = ('train', 'valid', 'test')
VIS_VERSIONS = ('2019', '2021', 'ovis')


def raw_vis_ann_path(data_root: str, version: str, split: str) -> str:
    """Path of the official raw json of ``split`` under ``data_root``."""
    _check_choice(version, VIS_VERSIONS, 'version')
    _check_choice(split, VIS_SPLITS, 'split')
    if version == '2019':
        return osp.join(data_root, f'{split}.json')
    if version == '2021':
        return osp.join(data_root, split, 'instances.json')
    return osp.join(data_root, f'annotations_{split}.json')


def frame_folder(data_root: str, version: str, split: str) -> str:
    """The folder of the video folders of ``split`` in the official
    layout (no output is written into it)."""
    if version == 'ovis':
        return osp.join(data_root, split)
    return osp.join(data_root, split, 'JPEGImages')


def cocovid_ann_name(version: str, split: str) -> str:
    """mmdet-style file name of the CocoVID json of ``split``."""
    _check_choice(version, VIS_VERSIONS, 'version')
    _check_choice(split, VIS_SPLITS, 'split')
    if version == 'ovis':
        return f'ovis_{split}.json'
    return f'youtube_vis_{version}_{split}.json'


def _check_choice(value: str, choices: Sequence[str], name: str) -> None:
    if value not in choices:
        raise ValueError(f'{name} must be one of {choices}, got {value!r}')


class _Validator:
    """Builds error messages that name the file, video and field."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, field: str, problem: str):
        raise VISFormatError(
            f'{self.source}: {where}: field {field!r} {problem}')

    def require(self, record: dict, field: str, where: str, types):
        if not isinstance(record, dict):
            self.fail(
                where, field, f'cannot be read: the record is a '
                f'{type(record).__name__}, not an object')
        if field not in record:
            self.fail(where, field, 'is missing')
        value = record[field]
        if not isinstance(value, types) or isinstance(value, bool):
            self.fail(where, field, f'has type {type(value).__name__}')
        return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _per_frame_list(ann: dict, field: str, length: int, check: _Validator,
                    where: str, required: bool) -> Optional[list]:
    if field not in ann and not required:
        return None
    values = check.require(ann, field, where, list)
    if len(values) != length:
        check.fail(
            where, field, f'has {len(values)} entries but the video '
            f'has {length} frames')
    return values


def _load_raw(raw: Union[dict, str], source: Optional[str]):
    if isinstance(raw, str):
        source = source or raw
        raw = load_json(raw)
    if not isinstance(raw, dict):
        raise VISFormatError(f'{source or "<raw dict>"}: the top level is a '
                             f'{type(raw).__name__}, expected an object')
    return raw, source or '<raw dict>'


def _video_name(file_names: List[str], video_id: int) -> str:
    name = posixpath.dirname(file_names[0].replace('\\', '/'))
    return name if name else str(video_id)


def convert_vis_to_cocovid(raw: Union[dict, str],
                           source: Optional[str] = None,
                           show_progress: bool = True) -> dict:
    """Convert one split of a raw YouTube-VIS/OVIS json to CocoVID.

    Args:
        raw (dict | str): The raw json content or its path.
        source (str, optional): Name used in error messages. Defaults to
            the path, or ``'<raw dict>'``.
        show_progress (bool): Show a tqdm bar over the videos.

    Returns:
        dict: The CocoVID json content (see the module docstring).

    Raises:
        VISFormatError: The raw json is malformed; the message names the
            file, the video or annotation and the field.
    """
    raw, source = _load_raw(raw, source)
    check = _Validator(source)

    categories = check.require(raw, 'categories', 'top level', list)
    category_ids = set()
    for i, cat in enumerate(categories):
        where = f'categories[{i}]'
        cat_id = check.require(cat, 'id', where, int)
        check.require(cat, 'name', where, str)
        if cat_id in category_ids:
            check.fail(where, 'id', f'{cat_id} is duplicated')
        category_ids.add(cat_id)

    videos = check.require(raw, 'videos', 'top level', list)
    video_by_id = {}
    for i, video in enumerate(videos):
        video_id = check.require(video, 'id', f'videos[{i}]', int)
        where = f'video {video_id}'
        if video_id in video_by_id:
            check.fail(where, 'id', 'is duplicated')
        file_names = check.require(video, 'file_names', where, list)
        if not file_names:
            check.fail(where, 'file_names', 'is empty')
        if not all(isinstance(n, str) and n for n in file_names):
            check.fail(where, 'file_names', 'holds a non-string or empty '
                       'entry')
        for field in ('width', 'height'):
            if check.require(video, field, where, int) <= 0:
                check.fail(where, field, 'must be positive')
        if 'length' in video and video['length'] != len(file_names):
            check.fail(
                where, 'length', f'is {video["length"]} but '
                f'file_names has {len(file_names)} entries')
        video_by_id[video_id] = video

    raw_anns = raw.get('annotations') or []
    if not isinstance(raw_anns, list):
        check.fail('top level', 'annotations', 'is not a list')
    anns_by_video = defaultdict(list)
    ann_ids = set()
    for i, ann in enumerate(raw_anns):
        ann_id = check.require(ann, 'id', f'annotations[{i}]', int)
        video_id = check.require(ann, 'video_id', f'annotation {ann_id}', int)
        where = f'video {video_id}, annotation {ann_id}'
        if ann_id <= 0:
            # mmdet's BaseVideoDataset treats a falsy instance_id as missing
            check.fail(
                where, 'id', 'must be a positive integer (it becomes '
                'the instance_id)')
        if ann_id in ann_ids:
            check.fail(where, 'id', 'is duplicated')
        ann_ids.add(ann_id)
        if video_id not in video_by_id:
            check.fail(where, 'video_id', f'{video_id} is not in "videos"')
        category_id = check.require(ann, 'category_id', where, int)
        if category_id not in category_ids:
            check.fail(where, 'category_id',
                       f'{category_id} is not in "categories"')
        anns_by_video[video_id].append(ann)
    video_where = {
        video_id: f'video {video_id} '
        f'({_video_name(video["file_names"], video_id)})'
        for video_id, video in video_by_id.items()
    }

    out = dict(
        categories=[dict(c) for c in categories],
        videos=[],
        images=[],
        annotations=[])
    if 'info' in raw:
        out['info'] = raw['info']
    image_id = 0
    for video in tqdm(
            videos,
            desc=f'converting {osp.basename(source)}',
            unit='video',
            disable=not show_progress):
        video_id = video['id']
        file_names = video['file_names']
        length = len(file_names)
        width, height = video['width'], video['height']
        out['videos'].append(
            dict(
                id=video_id,
                name=_video_name(file_names, video_id),
                width=width,
                height=height,
                length=length))
        frames = []
        for ann in anns_by_video[video_id]:
            where = f'{video_where[video_id]}, annotation {ann["id"]}'
            frames.append((ann, where,
                           _per_frame_list(
                               ann,
                               'segmentations',
                               length,
                               check,
                               where,
                               required=True),
                           _per_frame_list(
                               ann,
                               'bboxes',
                               length,
                               check,
                               where,
                               required=False),
                           _per_frame_list(
                               ann,
                               'areas',
                               length,
                               check,
                               where,
                               required=False),
                           _per_frame_list(
                               ann,
                               'occlusion',
                               length,
                               check,
                               where,
                               required=False)))
        for frame_id, file_name in enumerate(file_names):
            image_id += 1
            out['images'].append(
                dict(
                    id=image_id,
                    video_id=video_id,
                    frame_id=frame_id,
                    file_name=file_name,
                    width=width,
                    height=height))
            for ann, where, segms, bboxes, areas, occlusion in frames:
                segm = segms[frame_id]
                if segm is None:
                    continue
                frame_where = f'{where}, frame {frame_id}'
                check_segmentation(
                    segm, height, width,
                    f'{source}: {frame_where}: field \'segmentations\'')
                bbox = None if bboxes is None else bboxes[frame_id]
                area = None if areas is None else areas[frame_id]
                if bbox is not None and not (
                        isinstance(bbox, list) and len(bbox) == 4
                        and all(_is_number(v) for v in bbox)
                        and bbox[2] >= 0 and bbox[3] >= 0):
                    check.fail(
                        frame_where, 'bboxes', 'holds an entry that is not '
                        '[x, y, w, h] (finite numbers, w and h >= 0)')
                if area is not None and not (_is_number(area)
                                             and area >= 0):
                    check.fail(frame_where, 'areas',
                               'holds an entry that is not a number >= 0')
                if bbox is None or area is None:
                    rle = segmentation_rle(segm, height, width)
                    if bbox is None:
                        bbox = [float(v) for v in mask_utils.toBbox(rle)]
                    if area is None:
                        area = int(mask_utils.area(rle))
                new_ann = dict(
                    id=len(out['annotations']) + 1,
                    image_id=image_id,
                    video_id=video_id,
                    category_id=ann['category_id'],
                    instance_id=ann['id'],
                    bbox=bbox,
                    area=area,
                    segmentation=segm,
                    iscrowd=ann.get('iscrowd', 0))
                if occlusion is not None:
                    new_ann['occlusion'] = occlusion[frame_id]
                out['annotations'].append(new_ann)
    return out


def summarize_cocovid(cocovid: dict) -> str:
    """One line with the video/image/annotation/instance counts."""
    num_instances = len({a['instance_id'] for a in cocovid['annotations']})
    return (f'{len(cocovid["videos"])} videos, {len(cocovid["images"])} '
            f'images, {len(cocovid["annotations"])} annotations, '
            f'{num_instances} instances')


def convert_vis_file(in_path: str,
                     out_path: str,
                     show_progress: bool = True) -> dict:
    """Convert the raw json ``in_path`` and write CocoVID to ``out_path``
    atomically. Returns the CocoVID content."""
    cocovid = convert_vis_to_cocovid(in_path, show_progress=show_progress)
    dump_json_atomic(cocovid, out_path)
    return cocovid


def convert_vis_data_root(data_root: str,
                          version: str,
                          out_dir: Optional[str] = None,
                          show_progress: bool = True) -> Dict[str, str]:
    """Convert every split found under ``data_root`` (layouts in the module
    docstring).

    Returns:
        dict[str, str]: Split name -> written CocoVID json path.

    Raises:
        FileNotFoundError: No split of ``version`` exists under
            ``data_root``.
    """
    out_dir = out_dir or osp.join(data_root, 'annotations')
    pairs = [(split, raw_vis_ann_path(data_root, version, split),
              osp.join(out_dir, cocovid_ann_name(version, split)))
             for split in VIS_SPLITS
             if osp.isfile(raw_vis_ann_path(data_root, version, split))]
    refuse_overwriting_inputs(
        {f'{split} output': out_path
         for split, _, out_path in pairs},
        [(f'raw {split} json', in_path) for split, in_path, _ in pairs],
        folders=[(f'{split} frame folder', folder) for split in VIS_SPLITS
                 for folder in [frame_folder(data_root, version, split)]
                 if osp.isdir(folder)])
    written = {}
    for split, in_path, out_path in pairs:
        cocovid = convert_vis_file(in_path, out_path, show_progress)
        print(f'{in_path} -> {out_path}: {summarize_cocovid(cocovid)}')
        written[split] = out_path
    if not written:
        expected = ', '.join(
            raw_vis_ann_path(data_root, version, s) for s in VIS_SPLITS)
        raise FileNotFoundError(
            f'no raw {version} annotation found; expected one of: '
            f'{expected}')
    return written


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert raw YouTube-VIS 2019/2021 or OVIS json to '
        'the CocoVID json read by mmdet video datasets. Either one file '
        '(-i RAW -o OUT) or every split found under --data-root.')
    parser.add_argument('-i', '--input', help='raw json of one split')
    parser.add_argument('-o', '--output', help='CocoVID json to write')
    parser.add_argument(
        '--data-root',
        help='dataset folder in the official layout (see --version)')
    parser.add_argument(
        '--version',
        choices=VIS_VERSIONS,
        help='dataset layout for --data-root: 2019 reads {split}.json, '
        '2021 reads {split}/instances.json, ovis reads '
        'annotations_{split}.json')
    parser.add_argument(
        '--out-dir',
        help='output folder for --data-root (default: '
        'DATA_ROOT/annotations); files are named '
        'youtube_vis_{2019,2021}_{split}.json or ovis_{split}.json')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    args = parser.parse_args(argv)
    file_mode = args.input is not None or args.output is not None
    if file_mode == (args.data_root is not None):
        parser.error('give either -i/-o or --data-root, not both or none')
    if file_mode and (args.input is None or args.output is None):
        parser.error('-i and -o must be given together')
    if file_mode and (args.version or args.out_dir):
        parser.error('--version/--out-dir only apply to --data-root')
    if not file_mode and args.version is None:
        parser.error('--data-root needs --version')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/dataset_converters/vis2cocovid.py``
    calls it)."""
    args = parse_args(argv)
    with exit_on_user_error():
        if args.input is not None:
            refuse_overwriting_inputs({'-o': args.output},
                                      [('input json', args.input)])
            cocovid = convert_vis_file(args.input, args.output,
                                       not args.no_progress)
            print(f'{args.input} -> {args.output}: '
                  f'{summarize_cocovid(cocovid)}')
        else:
            convert_vis_data_root(args.data_root, args.version, args.out_dir,
                                  not args.no_progress)


__all__ = [
    'VISFormatError', 'VIS_SPLITS', 'VIS_VERSIONS', 'raw_vis_ann_path',
    'cocovid_ann_name', 'convert_vis_to_cocovid', 'convert_vis_file',
    'convert_vis_data_root', 'summarize_cocovid', 'main'
]
