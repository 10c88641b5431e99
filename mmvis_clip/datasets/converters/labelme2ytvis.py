"""Build a YouTube-VIS json from per-frame LabelMe json files (polygons,
``group_id`` as the instance id).

Read with json and pycocotools, not datumaro: its LabelMe format is MIT
LabelMe XML, not labelme's json, and ``pip install --dry-run datumaro``
(1.13.12) would downgrade pillow 13.0.0 to 12.3.0 and put
opencv-python-headless 4.14 over opencv-python 5.0's ``cv2``.

Layout::

    ROOT/<video>/<frame>.jpg|.jpeg|.png      frames (natural order)
    ROOT/<video>/<frame>.json                LabelMe's json of the frame
                                             (or ANNOTATIONS/<video>/...)

* One video per folder of ``ROOT``; its frames are the images in it. A
  frame's json has the frame's name stem (LabelMe saves it beside the
  image); a frame without json has no instance, a json without frame is
  an error. With ``ANNOTATIONS``, the json files are in
  ``ANNOTATIONS/<video>/`` instead.
* The json's ``imagePath`` (its file name) must be the frame's, and its
  ``imageHeight`` / ``imageWidth`` the frame file's size.
* Each shape needs a ``label`` and an integer ``group_id``: the instance's
  identity within the video. Shapes with one ``group_id`` in a frame are
  one instance (their union; they must share the label), and an instance
  has one label in all frames.
* ``shape_type`` ``polygon`` (at least 3 points) or ``rectangle`` (2
  corners); both are rasterized as COCO rasterizes polygons (as the
  package's datasets and evaluation decode polygons). Points must lie in
  the frame (``0 <= x <= width``, ``0 <= y <= height``).
* Source class names for the class map are the shape ``label`` s.

Output: the json layout of ``frames2ytvis`` (video ids in natural order of
the folder names, annotations per video in increasing ``group_id``);
``file_names`` are ``<video>/<frame file>``, relative to ``ROOT``.
"""
import argparse
import os
import os.path as osp
import textwrap
from typing import Dict, List, Optional, Tuple

from tqdm import tqdm

from ...utils.atomic_io import dump_json_atomic, refuse_overwriting_inputs
from ...utils.natural_sort import natural_sort_key
from ...utils.user_errors import UserError, exit_on_user_error
from ...utils.vis_format import check_segmentation, load_json
from .frames2ytvis import list_folder, video_frames
from .ytvis_tracks import (SourceClassMap, VideoTracks, build_ytvis,
                           merge_rles, polygons_rle, require_int, summary_line)

LABELME_EXTENSION = '.json'
AREA_SHAPE_TYPES = ('polygon', 'rectangle')


def _shape_polygon(shape: dict, height: int, width: int,
                   where: str) -> List[float]:
    """``[x0, y0, x1, y1, ...]`` of a polygon or rectangle shape, checked
    to lie in the frame."""
    shape_type = shape.get('shape_type') or 'polygon'
    if shape_type not in AREA_SHAPE_TYPES:
        raise UserError(
            f'{where}: shape_type {shape_type!r} is not supported; only '
            f'{" and ".join(AREA_SHAPE_TYPES)} shapes are converted')
    points = shape.get('points')
    if not isinstance(points, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in points):
        raise UserError(f'{where}: "points" must be a list of [x, y]')
    if shape_type == 'rectangle':
        if len(points) != 2:
            raise UserError(f'{where}: a rectangle has 2 points (opposite '
                            f'corners), found {len(points)}')
        (x0, y0), (x1, y1) = points
        polygon = [x0, y0, x1, y0, x1, y1, x0, y1]
    elif len(points) < 3:
        raise UserError(f'{where}: a polygon has at least 3 points, found '
                        f'{len(points)}')
    else:
        polygon = [v for point in points for v in point]
    check_segmentation([polygon], height, width, where)
    return [float(v) for v in polygon]


def read_labelme_frame(path: str, frame_file: str, frame_index: int,
                       tracks: VideoTracks) -> None:
    """Read one frame's LabelMe json into ``tracks``.

    Args:
        path (str): The json.
        frame_file (str): The frame's file name (``<video>/<name>``).
        frame_index (int): Its index in the video.
        tracks (VideoTracks): The video's tracks.

    Raises:
        UserError: A malformed field, a size or ``imagePath`` that is not
            the frame's, a shape outside the frame, an unknown class, one
            instance with two labels; naming the file, frame and shape.
    """
    frame_where = f'{path} (frame {frame_file})'
    raw = load_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get('shapes'), list):
        raise UserError(f'{frame_where}: a LabelMe json is an object with a '
                        '"shapes" list')
    image_path = raw.get('imagePath')
    if image_path is not None:
        name = str(image_path).replace('\\', '/').split('/')[-1]
        if name != osp.basename(frame_file):
            raise UserError(
                f'{frame_where}: "imagePath" {image_path!r} is not the '
                f'frame {osp.basename(frame_file)!r} of the same name stem')
    for field, value in (('imageHeight', tracks.height), ('imageWidth',
                                                          tracks.width)):
        if raw.get(field) is not None and require_int(
                raw[field], frame_where, f'"{field}"') != value:
            raise UserError(
                f'{frame_where}: "{field}" is {raw[field]} but the frame file '
                f'is {tracks.height}x{tracks.width} (height x width)')
    groups: Dict[int, Tuple[str, List[dict], str]] = {}
    for index, shape in enumerate(raw['shapes']):
        where = f'{frame_where}: shape {index}'
        if not isinstance(shape, dict):
            raise UserError(f'{where}: must be an object')
        label = shape.get('label')
        if not isinstance(label, str) or not label:
            raise UserError(f'{where}: "label" must be a non-empty string')
        where = f'{where} (label {label!r})'
        if shape.get('group_id') is None:
            raise UserError(
                f'{where}: no "group_id"; the group_id is the instance id '
                'that links the instance across frames')
        group_id = require_int(shape['group_id'], where, '"group_id"')
        polygon = _shape_polygon(shape, tracks.height, tracks.width, where)
        rle = polygons_rle([polygon], tracks.height, tracks.width)
        if group_id in groups:
            first_label, rles, first_where = groups[group_id]
            if label != first_label:
                raise UserError(
                    f'{where}: group_id {group_id} has label {label!r} here '
                    f'but {first_label!r} in {first_where}; one instance '
                    'has one class')
            rles.append(rle)
        else:
            groups[group_id] = (label, [rle], where)
    for group_id, (label, rles, where) in sorted(groups.items()):
        tracks.add(frame_index, group_id, label, merge_rles(rles), where)


def _list_videos(root: str, ann_root: str) -> List[str]:
    videos = []
    for name in os.listdir(root):
        path = osp.join(root, name)
        if name.startswith('.'):
            continue
        if not osp.isdir(path):
            raise UserError(f'{path}: the LabelMe root holds one folder per '
                            'video, found a file')
        videos.append(name)
    if not videos:
        raise UserError(f'{root}: no video folder found')
    if ann_root != root:
        for name in os.listdir(ann_root):
            path = osp.join(ann_root, name)
            if not name.startswith('.') and name not in videos:
                raise UserError(f'{path}: annotations of video {name!r}, '
                                f'which has no frame folder in {root}')
    return sorted(videos, key=natural_sort_key)


def convert_labelme_to_ytvis(
        root: str,
        class_map_path: str,
        ann_root: Optional[str] = None,
        show_progress: bool = True) -> Tuple[dict, List[VideoTracks]]:
    """Build the YouTube-VIS json of per-frame LabelMe files.

    Args:
        root (str): Folder of the video folders (layout in the module
            docstring).
        class_map_path (str): The class map
            (:class:`~.ytvis_tracks.SourceClassMap`).
        ann_root (str, optional): Folder of the json folders; defaults to
            ``root`` (json beside the frames).
        show_progress (bool): Show a tqdm bar over the videos.

    Returns:
        tuple[dict, list[VideoTracks]]: The json content and the videos.

    Raises:
        UserError: Bad input, naming the file, frame and shape.
    """
    class_map = SourceClassMap.from_file(class_map_path)
    if not osp.isdir(root):
        raise UserError(f'{root}: folder not found')
    ann_root = root if ann_root is None else ann_root
    if not osp.isdir(ann_root):
        raise UserError(f'{ann_root}: annotations folder not found')
    videos = []
    for video in tqdm(
            _list_videos(root, ann_root),
            desc='labelme2ytvis',
            unit='video',
            disable=not show_progress):
        beside = ann_root == root
        stems, names, height, width = video_frames(
            root, video, (LABELME_EXTENSION, ) if beside else ())
        tracks = VideoTracks(video, [f'{video}/{name}' for name in names],
                             height, width, class_map)
        ann_folder = osp.join(ann_root, video)
        jsons = list_folder(
            ann_folder, (LABELME_EXTENSION, ), 'LabelMe json files',
            ('.jpg', '.jpeg', '.png') if beside else ()) if osp.isdir(
                ann_folder) else {}
        index_of = {stem: i for i, stem in enumerate(stems)}
        for stem in sorted(jsons, key=natural_sort_key):
            path = osp.join(ann_folder, jsons[stem])
            if stem not in index_of:
                raise UserError(
                    f'{path}: LabelMe json without a frame of the same name '
                    f'stem in {osp.join(root, video)}')
            read_labelme_frame(path, tracks.file_names[index_of[stem]],
                               index_of[stem], tracks)
        videos.append(tracks)
    ytvis = build_ytvis(
        videos, class_map, 'video instance segmentation json made by '
        'labelme2ytvis from per-frame LabelMe json')
    return ytvis, videos


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Build a YouTube-VIS (2019 style) json from per-frame LabelMe
            json files.

            layout:
              ROOT/<video>/<frame>.jpg    frames (.jpg/.jpeg/.png; natural
                                          order)
              ROOT/<video>/<frame>.json   LabelMe json of the frame (or
                                          under --annotations)
            shapes: polygon or rectangle, with label and group_id (the
            instance id across frames; shapes with one group_id in a frame
            are one instance).

            class map (json): {"classes": ["person", "dog"],
              "source_classes": {"<LabelMe label>": "person"}}
            (without source_classes, labels must be in classes; null
            leaves a label out)
            """),
        epilog='Details: mmvis_clip/datasets/converters/labelme2ytvis.py')
    parser.add_argument('root', help='folder of the video folders')
    parser.add_argument('out', help='YouTube-VIS json to write')
    parser.add_argument('--class-map', required=True, help='class map json')
    parser.add_argument(
        '--annotations',
        default=None,
        help='folder of the <video>/<frame>.json files (default: ROOT, '
        'beside the frames)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/dataset_converters/
    labelme2ytvis.py`` calls it)."""
    args = parse_args(argv)
    with exit_on_user_error():
        folders = [('frames folder', args.root)]
        if args.annotations is not None:
            folders.append(('annotations folder', args.annotations))
        refuse_overwriting_inputs({'OUT': args.out},
                                  [('class map', args.class_map)],
                                  folders=folders)
        ytvis, videos = convert_labelme_to_ytvis(args.root, args.class_map,
                                                 args.annotations,
                                                 not args.no_progress)
        dump_json_atomic(ytvis, args.out)
    print(summary_line(args.out, ytvis, videos))


__all__ = ['convert_labelme_to_ytvis', 'main', 'read_labelme_frame']
