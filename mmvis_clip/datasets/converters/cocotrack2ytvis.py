"""Build a YouTube-VIS json from a per-frame COCO json whose annotations
carry a track id (what CVAT and similar tools export for video tasks).

Input::

    ANN.json    {"images": [{"id", "file_name", "width"?, "height"?,
                             <video field>?}],
                 "annotations": [{"id", "image_id", "category_id",
                                  "segmentation", "iscrowd"?,
                                  <track id field> | "attributes":
                                  {<track id field>}}],
                 "categories": [{"id", "name"}]}
    IMAGES/<file_name>                     every listed frame

* Videos: the folder of ``file_name``, or the image field
  ``video_field``; frames in natural order of ``file_name``; every image
  is a frame. A recorded ``width`` / ``height`` must be the frame file's.
* The track id (``track_id_field``, default ``track_id``) is an integer,
  in the annotation or its ``attributes`` (CVAT); a track has one
  category and ``iscrowd``, and one annotation per frame.
* ``segmentation``: polygons or an RLE of the frame's size. Source class
  names are the category ``name`` s.

Output: the json layout of ``frames2ytvis`` (annotations per video by
track id, which is their ``source_id``); ``file_names`` are the images'
``file_name``.
"""
import argparse
import os.path as osp
import textwrap
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

from tqdm import tqdm

from ...structures.rle import segmentation_rle
from ...structures.vis_format import check_segmentation, load_json
from ...utils.atomic_io import dump_json_atomic, refuse_overwriting_inputs
from ...utils.natural_sort import natural_sort_key
from ...utils.user_errors import UserError, exit_on_user_error
from .frames2ytvis import frame_size
from .ytvis_tracks import (SourceClassMap, VideoTracks, build_ytvis,
                           require_int, summary_line)

DEFAULT_TRACK_ID_FIELD = 'track_id'


def _list_field(raw: dict, field: str, path: str) -> list:
    if field not in raw or not isinstance(raw[field], list):
        raise UserError(f'{path}: a COCO json needs a "{field}" list')
    return raw[field]


def _record(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise UserError(f'{where}: must be an object, got '
                        f'{type(value).__name__}')
    return value


def _categories(raw: dict, path: str) -> Dict[int, str]:
    names = {}
    for index, category in enumerate(_list_field(raw, 'categories', path)):
        where = f'{path}: categories[{index}]'
        category = _record(category, where)
        category_id = require_int(category.get('id'), where, '"id"')
        name = category.get('name')
        if not isinstance(name, str) or not name:
            raise UserError(f'{where}: "name" must be a non-empty string')
        if category_id in names:
            raise UserError(f'{where}: category id {category_id} is listed '
                            'twice')
        names[category_id] = name
    return names


def _video_of(image: dict, video_field: Optional[str], where: str) -> str:
    if video_field is None:
        video = osp.dirname(image['file_name'])
        if not video:
            raise UserError(
                f'{where}: file_name {image["file_name"]!r} has no folder; '
                'frames are grouped into videos by their folder (or name '
                'a video field with --video-field)')
        return video
    if video_field not in image:
        raise UserError(f'{where}: the image has no video field '
                        f'{video_field!r}')
    video = image[video_field]
    if isinstance(video, bool) or not isinstance(video, (int, str)) or (
            isinstance(video, str) and not video):
        raise UserError(f'{where}: video field {video_field!r} must be an '
                        f'integer or a non-empty string, got {video!r}')
    return str(video)


def _videos(raw: dict, path: str,
            video_field: Optional[str]) -> Tuple[Dict[str, List[dict]], dict]:
    """Video name -> its image records in frame order, and image id ->
    ``(video, frame index, where)``."""
    videos = defaultdict(list)
    seen_ids, seen_files = {}, {}
    for index, image in enumerate(_list_field(raw, 'images', path)):
        where = f'{path}: images[{index}]'
        image = _record(image, where)
        image_id = require_int(image.get('id'), where, '"id"')
        file_name = image.get('file_name')
        if not isinstance(file_name, str) or not file_name:
            raise UserError(f'{where}: "file_name" must be a non-empty '
                            'string')
        where = f'{path}: image {image_id} (frame {file_name})'
        if image_id in seen_ids:
            raise UserError(f'{where}: image id {image_id} is also the id of '
                            f'frame {seen_ids[image_id]}')
        if file_name in seen_files:
            raise UserError(f'{where}: file_name is also that of image '
                            f'{seen_files[file_name]}')
        seen_ids[image_id], seen_files[file_name] = file_name, image_id
        videos[_video_of(image, video_field, where)].append(
            dict(image, _where=where))
    frame_of = {}
    for video, images in videos.items():
        images.sort(key=lambda image: natural_sort_key(image['file_name']))
        for frame_index, image in enumerate(images):
            frame_of[image['id']] = (video, frame_index, image['_where'])
    return videos, frame_of


def _frame_sizes(images: List[dict], image_root: str,
                 video: str) -> Tuple[int, int]:
    """The frame size of a video, checked against every frame file and
    every recorded size."""
    size, first = None, None
    for image in images:
        where = image['_where']
        frame_path = osp.join(image_root, image['file_name'])
        if not osp.isfile(frame_path):
            raise UserError(f'{where}: frame file {frame_path} not found')
        height, width = frame_size(frame_path)
        for field, value in (('height', height), ('width', width)):
            if field in image and require_int(image[field], where,
                                              f'"{field}"') != value:
                raise UserError(
                    f'{where}: recorded {field} {image[field]} but the '
                    f'frame file {frame_path} is {height}x{width} (height x '
                    'width)')
        if size is None:
            size, first = (height, width), frame_path
        elif (height, width) != size:
            raise UserError(
                f'{where}: the frame is {height}x{width} (height x width) '
                f'but the first frame of video {video!r} ({first}) is '
                f'{size[0]}x{size[1]}')
    return size


def _track_id(ann: dict, field: str, where: str) -> int:
    if field in ann:
        return require_int(ann[field], where, f'track id {field!r}')
    attributes = ann.get('attributes')
    if isinstance(attributes, dict) and field in attributes:
        return require_int(attributes[field], where,
                           f'track id "attributes".{field!r}')
    raise UserError(f'{where}: no track id: the annotation has no field '
                    f'{field!r}, nor "attributes".{field!r} (name the field '
                    'with --track-id-field)')


def convert_coco_tracks_to_ytvis(ann_file: str,
                                 image_root: str,
                                 class_map_path: str,
                                 track_id_field: str = DEFAULT_TRACK_ID_FIELD,
                                 video_field: Optional[str] = None,
                                 show_progress: bool = True
                                 ) -> Tuple[dict, List[VideoTracks]]:
    """Build the YouTube-VIS json of a per-frame COCO json with track ids.

    Args:
        ann_file (str): The COCO json.
        image_root (str): The folder ``file_name`` s are relative to.
        class_map_path (str): The class map
            (:class:`~.ytvis_tracks.SourceClassMap`).
        track_id_field (str): The annotation field (or ``attributes`` key)
            holding the track id.
        video_field (str, optional): The image field naming its video;
            ``None`` groups by the folder of ``file_name``.
        show_progress (bool): Show a tqdm bar over the videos.

    Returns:
        tuple[dict, list[VideoTracks]]: The json content and the videos.

    Raises:
        UserError: Bad input, naming the file, annotation and frame.
    """
    class_map = SourceClassMap.from_file(class_map_path)
    raw = load_json(ann_file)
    if not isinstance(raw, dict):
        raise UserError(f'{ann_file}: a COCO json is an object with '
                        '"images", "annotations" and "categories"')
    category_names = _categories(raw, ann_file)
    videos, frame_of = _videos(raw, ann_file, video_field)
    tracks = {}
    for video in tqdm(
            sorted(videos, key=natural_sort_key),
            desc='cocotrack2ytvis',
            unit='video',
            disable=not show_progress):
        height, width = _frame_sizes(videos[video], image_root, video)
        tracks[video] = VideoTracks(
            video, [image['file_name'] for image in videos[video]], height,
            width, class_map)
    seen = {}
    for index, ann in enumerate(_list_field(raw, 'annotations', ann_file)):
        where = f'{ann_file}: annotations[{index}]'
        ann = _record(ann, where)
        ann_id = require_int(ann.get('id'), where, '"id"')
        if ann_id in seen:
            raise UserError(f'{where}: annotation id {ann_id} is also the id '
                            f'of annotations[{seen[ann_id]}]')
        seen[ann_id] = index
        image_id = require_int(ann.get('image_id'), where, '"image_id"')
        if image_id not in frame_of:
            raise UserError(f'{ann_file}: annotation {ann_id}: image_id '
                            f'{image_id} is not in "images"')
        video, frame_index, frame_where = frame_of[image_id]
        where = f'{frame_where}: annotation {ann_id}'
        category_id = require_int(ann.get('category_id'), where,
                                  '"category_id"')
        if category_id not in category_names:
            raise UserError(f'{where}: category_id {category_id} is not in '
                            '"categories"')
        iscrowd = ann.get('iscrowd', 0)
        if iscrowd not in (0, 1) or isinstance(iscrowd, bool):
            raise UserError(f'{where}: "iscrowd" must be 0 or 1, got '
                            f'{iscrowd!r}')
        track_id = _track_id(ann, track_id_field, where)
        segmentation = ann.get('segmentation')
        if not segmentation:
            raise UserError(f'{where}: no "segmentation" (a mask, as '
                            'polygons or RLE, is needed for each instance)')
        video_tracks = tracks[video]
        check_segmentation(segmentation, video_tracks.height,
                           video_tracks.width, f'{where}: segmentation')
        rle = segmentation_rle(segmentation, video_tracks.height,
                               video_tracks.width)
        video_tracks.add(
            frame_index,
            track_id,
            category_names[category_id],
            rle,
            where,
            int(iscrowd),
            source_id=track_id)
    ordered = [tracks[video] for video in sorted(tracks, key=natural_sort_key)]
    ytvis = build_ytvis(
        ordered, class_map, 'video instance segmentation json made by '
        'cocotrack2ytvis from per-frame COCO with track ids')
    return ytvis, ordered


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Build a YouTube-VIS (2019 style) json from a per-frame COCO
            json with a track id per annotation (CVAT "COCO" export of a
            video task and similar).

            input: ANN.json (images, annotations with a track id,
            categories); IMAGES/<file_name> for every image. A video's
            frames are the images in one folder of file_name (or with one
            value of --video-field), in natural order of file_name.

            class map (json): {"classes": ["person", "dog"],
              "source_classes": {"<COCO category name>": "person"}}
            (without source_classes, category names must be in classes;
            null leaves a category out)
            """),
        epilog='Details: mmvis_clip/datasets/converters/cocotrack2ytvis.py')
    parser.add_argument('ann_file', help='per-frame COCO json')
    parser.add_argument('images', help='folder the file_names are '
                        'relative to')
    parser.add_argument('out', help='YouTube-VIS json to write')
    parser.add_argument('--class-map', required=True, help='class map json')
    parser.add_argument(
        '--track-id-field',
        default=DEFAULT_TRACK_ID_FIELD,
        help='annotation field with the track id, also looked up in the '
        'annotation\'s "attributes" (default: %(default)s)')
    parser.add_argument(
        '--video-field',
        default=None,
        help='image field naming the video of a frame (default: group by '
        'the folder of file_name)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/dataset_converters/
    cocotrack2ytvis.py`` calls it)."""
    args = parse_args(argv)
    with exit_on_user_error():
        refuse_overwriting_inputs(
            {'OUT': args.out}, [('COCO json', args.ann_file),
                                ('class map', args.class_map)],
            folders=[('frames folder', args.images)])
        ytvis, videos = convert_coco_tracks_to_ytvis(
            args.ann_file, args.images, args.class_map, args.track_id_field,
            args.video_field, not args.no_progress)
        dump_json_atomic(ytvis, args.out)
    print(summary_line(args.out, ytvis, videos))


__all__ = ['convert_coco_tracks_to_ytvis', 'main']
