"""Build a YouTube-VIS json from folders of frames and instance-id masks.

Folder layout (one split per ``root``)::

    root/JPEGImages/<video>/<frame>.jpg      (.jpg, .jpeg or .png)
    root/Annotations/<video>/<frame>.png     (optional)

* Frames are in natural order of their names; all of a video have one size.
* A mask PNG has its frame's name stem and size; 8/16-bit grayscale or
  palette (raw indices, as YouTube-VOS/DAVIS), 0 = background, ``v > 0`` =
  instance ``v`` of the video.
* A video without ``Annotations/<video>`` is unlabelled; in a labelled
  video a frame without a mask PNG has no instance; a mask PNG without a
  frame is an error.

Class map (json)::

    {"classes": ["person", {"name": "dog", "supercategory": "animal"}],
     "instances": {"<video>": {"1": "person", "2": "dog"}}}

Category ids are 1, 2, ... in ``classes`` order. Every mask value > 0 of a
video must be listed, and every listed one must appear.

Output (YouTube-VIS 2019 style, atomic, sorted keys)::

    {
      "info": {...}, "licenses": [],
      "categories": [{"id", "name", "supercategory" (when given)}],
      "videos": [{"id" (1, 2, ... in natural order of the folder names),
                  "file_names": ["<video>/<frame file>"] * L,
                  "height", "width", "length"}],
      "annotations": [{"id" (1, 2, ...; per video by mask value),
                       "video_id", "category_id", "iscrowd": 0, "height",
                       "width",
                       "segmentations": [RLE with str counts | null] * L,
                       "bboxes": [[x, y, w, h] | null] * L,
                       "areas": [int | null] * L,
                       "source_id": the mask value}]
    }

``file_names`` are relative to ``root/JPEGImages``.
"""
import argparse
import os
import os.path as osp
import re
import textwrap
from typing import Dict, List, Optional, Tuple

import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image
from tqdm import tqdm

from ...structures.rle import encode_mask, segmentation_rle
from ...structures.vis_format import VISFormatError, load_json
from ...utils.atomic_io import dump_json_atomic, refuse_overwriting_inputs
from ...utils.natural_sort import natural_sort_key
from ...utils.user_errors import exit_on_user_error
from .image_integrity import check_image_complete

FRAME_EXTENSIONS = ('.jpg', '.jpeg', '.png')
MASK_EXTENSION = '.png'
# PIL modes of instance-id PNGs: grayscale 1/8/16/32-bit and palette.
MASK_MODES = ('1', 'L', 'P', 'I;16', 'I;16B', 'I;16L', 'I')
CLASS_MAP_KEYS = ('classes', 'instances')
EXIF_ORIENTATION_TAG = 0x0112


class ClassMap:
    """A parsed class map (format in the module docstring).

    Attributes:
        categories (list[dict]): ``{"id", "name"[, "supercategory"]}``.
        instances (dict[str, dict[int, int]]): video -> mask value ->
            category id.
        path (str): The file it was read from (for error messages).
    """

    def __init__(self, categories: List[dict],
                 instances: Dict[str, Dict[int, int]], path: str):
        self.categories = categories
        self.instances = instances
        self.path = path

    @classmethod
    def from_file(cls, path: str) -> 'ClassMap':
        """Read and check a class map json.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            VISFormatError: Naming the file and the field at fault.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: class map not found')
        raw = load_json(path)
        if not isinstance(raw, dict):
            raise VISFormatError(f'{path}: the top level must be an object '
                                 'with "classes" and "instances"')
        unknown = sorted(set(raw) - set(CLASS_MAP_KEYS))
        if unknown:
            raise VISFormatError(
                f'{path}: unknown top-level key(s) {unknown}; expected '
                f'{list(CLASS_MAP_KEYS)}')
        categories = cls.parse_classes(raw.get('classes'), path)
        id_of = {cat['name']: cat['id'] for cat in categories}
        raw_instances = raw.get('instances', {})
        if not isinstance(raw_instances, dict):
            raise VISFormatError(f'{path}: "instances" must be an object '
                                 'mapping video names to objects')
        instances = {}
        for video, mapping in raw_instances.items():
            where = f'{path}: "instances" of video {video!r}'
            if not isinstance(mapping, dict):
                raise VISFormatError(f'{where} must be an object mapping '
                                     'mask values to class names')
            instances[video] = {}
            for key, name in mapping.items():
                if not re.fullmatch('[0-9]+', key) or int(key) == 0:
                    raise VISFormatError(
                        f'{where}: key {key!r} is not a mask value > 0')
                if int(key) in instances[video]:
                    raise VISFormatError(
                        f'{where}: mask value {int(key)} is listed twice')
                if not isinstance(name, str) or name not in id_of:
                    raise VISFormatError(
                        f'{where}: instance {key} has class {name!r}, '
                        f'which is not in "classes" {list(id_of)}')
                instances[video][int(key)] = id_of[name]
        return cls(categories, instances, path)

    @staticmethod
    def parse_classes(classes, path: str) -> List[dict]:
        """Parse the ``"classes"`` list of a class map file.

        Returns:
            list[dict]: ``{"id" (1, 2, ... in list order), "name"[,
            "supercategory"]}``.

        Raises:
            VISFormatError: Naming ``path`` and the entry at fault.
        """
        if not isinstance(classes, list) or not classes:
            raise VISFormatError(f'{path}: "classes" must be a non-empty '
                                 'list of class names')
        categories = []
        for index, entry in enumerate(classes):
            where = f'{path}: "classes"[{index}]'
            if isinstance(entry, str):
                entry = dict(name=entry)
            if not isinstance(entry, dict) or set(entry) - {
                    'name', 'supercategory'
            } or not isinstance(entry.get('name'), str) or not entry['name']:
                raise VISFormatError(
                    f'{where} must be a class name or an object with '
                    f'"name" and optionally "supercategory", got {entry!r}')
            if any(cat['name'] == entry['name'] for cat in categories):
                raise VISFormatError(
                    f'{where}: class {entry["name"]!r} is listed twice')
            categories.append(dict(id=index + 1, **entry))
        return categories


def read_instance_id_mask(path: str) -> np.ndarray:
    """Read an instance-id PNG (palette: raw indices) as an (H, W) int
    array.

    Raises:
        VISFormatError: Not single-channel or palette, or not decodable.
    """
    try:
        with Image.open(path) as image:
            if image.mode not in MASK_MODES:
                raise VISFormatError(
                    f'{path}: mask PNG has mode {image.mode!r}; expected a '
                    'single-channel (grayscale) or palette (P) image of '
                    'instance ids')
            return np.asarray(image).astype(np.int64)
    except (OSError, SyntaxError) as err:  # truncated or not an image
        raise VISFormatError(
            f'{path}: cannot read the mask PNG ({err})') from None


def frame_size(path: str) -> Tuple[int, int]:
    """(height, width) of a frame from its header, after checking that
    the file is whole; every converter reads its frames here.

    Raises:
        VISFormatError: Not a readable image, truncated, or with an EXIF
            rotation.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
            image_format = image.format
    except OSError as err:
        raise VISFormatError(
            f'{path}: cannot read the image ({err})') from None
    check_image_complete(path, image_format)
    if orientation != 1:
        raise VISFormatError(
            f'{path}: the frame has EXIF orientation {orientation}; OpenCV '
            'rotates such frames when loading them, so they would not '
            'line up with their masks. Save the frames upright without '
            'the EXIF orientation tag')
    return height, width


def list_folder(folder: str,
                extensions: Tuple[str, ...],
                what: str,
                skip_extensions: Tuple[str, ...] = ()) -> Dict[str, str]:
    """Name stem -> file name of the ``extensions`` files in ``folder``;
    hidden files and ``skip_extensions`` are skipped, anything else is an
    error."""
    found = {}
    for name in os.listdir(folder):
        path = osp.join(folder, name)
        stem, ext = osp.splitext(name)
        if name.startswith('.') or (ext.lower() in skip_extensions
                                    and osp.isfile(path)):
            continue
        if not osp.isfile(path) or ext.lower() not in extensions:
            raise VISFormatError(
                f'{path}: unexpected {"folder" if osp.isdir(path) else "file"}'
                f' among the {what}; expected only {"/".join(extensions)} '
                'files')
        if stem in found:
            raise VISFormatError(
                f'{folder}: {found[stem]} and {name} have the same name '
                f'stem {stem!r}; frames and masks are matched by stem')
        found[stem] = name
    return found


def _list_videos(image_root: str, mask_root: Optional[str]) -> List[str]:
    videos = []
    for name in os.listdir(image_root):
        if name.startswith('.'):
            continue
        if not osp.isdir(osp.join(image_root, name)):
            raise VISFormatError(
                f'{osp.join(image_root, name)}: JPEGImages must hold one '
                'folder of frames per video, found a file')
        videos.append(name)
    if not videos:
        raise VISFormatError(f'{image_root}: no video folder found')
    if mask_root is not None:
        for name in os.listdir(mask_root):
            path = osp.join(mask_root, name)
            if name.startswith('.'):
                continue
            if not osp.isdir(path):
                raise VISFormatError(
                    f'{path}: Annotations must hold one folder of mask '
                    'PNGs per video, found a file')
            if name not in videos:
                raise VISFormatError(
                    f'{path}: masks of video {name!r}, which has no frame '
                    f'folder in {image_root}')
    return sorted(videos, key=natural_sort_key)


def video_frames(
    image_root: str,
    video: str,
    skip_extensions: Tuple[str, ...] = ()
) -> Tuple[List[str], List[str], int, int]:
    """Frame stems and file names (natural order) and the frame size of
    ``image_root/video``.

    Args:
        image_root (str): Folder of the video folders.
        video (str): The video folder name.
        skip_extensions (tuple[str]): Files that are not frames.

    Returns:
        tuple: ``(stems, file_names, height, width)``.

    Raises:
        VISFormatError: No frame, a stray file, frames of mixed sizes or
            an unreadable or EXIF-rotated frame; naming the file.
    """
    folder = osp.join(image_root, video)
    frames = list_folder(folder, FRAME_EXTENSIONS, 'frames',
                         skip_extensions)
    if not frames:
        raise VISFormatError(f'{folder}: video {video!r} has no frame '
                             f'({"/".join(FRAME_EXTENSIONS)} file)')
    stems = sorted(frames, key=natural_sort_key)
    height, width = frame_size(osp.join(folder, frames[stems[0]]))
    for stem in stems[1:]:
        size = frame_size(osp.join(folder, frames[stem]))
        if size != (height, width):
            raise VISFormatError(
                f'{osp.join(folder, frames[stem])}: frame is {size[0]}x'
                f'{size[1]} (HxW) but the first frame of video {video!r} is '
                f'{height}x{width}')
    return stems, [frames[stem] for stem in stems], height, width


def _video_tracks(mask_folder: str, video: str, stems: List[str],
                  height: int, width: int,
                  class_map: ClassMap) -> Dict[int, List[Optional[dict]]]:
    """Mask value -> per-frame RLE (``None`` where absent) of one video."""
    masks = list_folder(mask_folder, (MASK_EXTENSION, ), 'mask PNGs')
    orphans = sorted(set(masks) - set(stems), key=natural_sort_key)
    if orphans:
        raise VISFormatError(
            f'{osp.join(mask_folder, masks[orphans[0]])}: mask PNG without '
            f'a frame of the same name stem in video {video!r}')
    id_to_category = class_map.instances.get(video, {})
    tracks = {
        value: [None] * len(stems)
        for value in sorted(id_to_category)
    }
    for frame_id, stem in enumerate(stems):
        if stem not in masks:
            continue  # no mask PNG: nothing annotated in this frame
        path = osp.join(mask_folder, masks[stem])
        ids = read_instance_id_mask(path)
        if ids.shape != (height, width):
            raise VISFormatError(
                f'{path}: mask is {ids.shape[0]}x{ids.shape[1]} (HxW) but '
                f'the frames of video {video!r} are {height}x{width}')
        for value in np.unique(ids):
            value = int(value)
            if value == 0:
                continue
            if value not in tracks:
                raise VISFormatError(
                    f'{path}: mask value {value} of video {video!r} is not '
                    f'in the class map {class_map.path} ("instances" of '
                    f'this video list {sorted(id_to_category)})')
            tracks[value][frame_id] = encode_mask(ids == value)
    for value, segmentations in tracks.items():
        if all(segm is None for segm in segmentations):
            raise VISFormatError(
                f'{class_map.path}: instance {value} of video {video!r} is '
                f'in the class map but in none of the masks in '
                f'{mask_folder}')
    return tracks


def track_annotation(segmentations: List[Optional[dict]],
                     ann_id: int,
                     video_id: int,
                     category_id: int,
                     height: int,
                     width: int,
                     iscrowd: int = 0,
                     source_id: Optional[int] = None) -> dict:
    """YouTube-VIS annotation of one instance from its per-frame RLEs.

    Args:
        segmentations (list[dict | None]): Per frame compressed RLE with
            ``str`` counts, ``None`` where absent.
        ann_id, video_id, category_id (int): The ids to write.
        height, width (int): The frame size.
        iscrowd (int): 0, or 1 for a crowd region.
        source_id (int, optional): The instance's id in the source files
            (mask value, MOTS ``obj_id``, track id, LabelMe ``group_id``).

    Returns:
        dict: With ``bboxes`` ``[x, y, w, h]`` and ``areas`` per frame
        (``None`` where absent), and ``source_id``.
    """
    bboxes, areas = [], []
    for segm in segmentations:
        if segm is None:
            bboxes.append(None)
            areas.append(None)
            continue
        rle = segmentation_rle(segm, *segm['size'])
        bboxes.append([float(v) for v in mask_utils.toBbox(rle)])
        areas.append(int(mask_utils.area(rle)))
    return dict(
        id=ann_id,
        video_id=video_id,
        category_id=category_id,
        iscrowd=iscrowd,
        height=height,
        width=width,
        segmentations=segmentations,
        bboxes=bboxes,
        areas=areas,
        source_id=source_id)


def convert_frames_to_ytvis(root: str,
                            class_map_path: str,
                            show_progress: bool = True) -> dict:
    """Build the YouTube-VIS json of the split in ``root``.

    Args:
        root (str): Folder with ``JPEGImages/`` and optionally
            ``Annotations/``.
        class_map_path (str): The class map json.
        show_progress (bool): Show a tqdm bar over the videos.

    Returns:
        dict: The YouTube-VIS json content.

    Raises:
        FileNotFoundError: ``root/JPEGImages`` or the class map is missing.
        VISFormatError: Bad input, naming the file and video.
    """
    image_root = osp.join(root, 'JPEGImages')
    if not osp.isdir(image_root):
        raise FileNotFoundError(
            f'{image_root}: folder not found; expected '
            f'{osp.join(root, "JPEGImages", "<video>", "<frame>.jpg")}')
    mask_root = osp.join(root, 'Annotations')
    if not osp.isdir(mask_root):
        mask_root = None
    class_map = ClassMap.from_file(class_map_path)
    videos = _list_videos(image_root, mask_root)
    unknown = sorted(set(class_map.instances) - set(videos))
    if unknown:
        raise VISFormatError(
            f'{class_map_path}: "instances" lists video {unknown[0]!r}, '
            f'which has no frame folder in {image_root}')

    out = dict(
        info=dict(
            description='video instance segmentation json made by '
            'frames2ytvis from frame and instance-id mask folders'),
        licenses=[],
        categories=class_map.categories,
        videos=[],
        annotations=[])
    for index, video in enumerate(
            tqdm(
                videos,
                desc='frames2ytvis',
                unit='video',
                disable=not show_progress)):
        video_id = index + 1
        stems, file_names, height, width = video_frames(image_root, video)
        out['videos'].append(
            dict(
                id=video_id,
                file_names=[f'{video}/{name}' for name in file_names],
                height=height,
                width=width,
                length=len(file_names)))
        mask_folder = (
            osp.join(mask_root, video) if mask_root is not None else None)
        if mask_folder is None or not osp.isdir(mask_folder):
            if class_map.instances.get(video):
                raise VISFormatError(
                    f'{class_map_path}: "instances" lists instances of '
                    f'video {video!r} but it has no mask folder '
                    f'{osp.join(root, "Annotations", video)}')
            continue  # unlabelled video
        tracks = _video_tracks(mask_folder, video, stems, height, width,
                               class_map)
        for value, segmentations in tracks.items():
            out['annotations'].append(
                track_annotation(segmentations,
                                 len(out['annotations']) + 1, video_id,
                                 class_map.instances[video][value], height,
                                 width, source_id=value))
    return out


def frames2ytvis(root: str,
                 out_path: str,
                 class_map_path: Optional[str] = None,
                 show_progress: bool = True) -> dict:
    """Convert ``root`` and write the json to ``out_path`` atomically.

    ``class_map_path`` defaults to ``root/classes.json``. Returns the json
    content.
    """
    if class_map_path is None:
        class_map_path = osp.join(root, 'classes.json')
    ytvis = convert_frames_to_ytvis(root, class_map_path, show_progress)
    dump_json_atomic(ytvis, out_path)
    return ytvis


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Build a YouTube-VIS (2019 style) json from your own videos.

            layout (one split per ROOT):
              ROOT/JPEGImages/<video>/<frame>.jpg   (.jpg/.jpeg/.png;
                                                     natural order)
              ROOT/Annotations/<video>/<frame>.png  instance-id masks,
                same name stem and size as the frame; grayscale or
                palette (raw indices); 0 = background, v > 0 = instance v
            A video without Annotations/<video> is unlabelled; in a
            labelled video a frame without a mask PNG has no instance.

            class map (json):
              {"classes": ["person", "dog"],
               "instances": {"<video>": {"1": "person", "2": "dog"}}}
            category ids are 1, 2, ... in "classes" order; every mask
            value > 0 must be listed for its video.
            """),
        epilog='Details: mmvis_clip/datasets/converters/frames2ytvis.py')
    parser.add_argument('root', help='split folder with JPEGImages/ and '
                        'optionally Annotations/')
    parser.add_argument('out', help='YouTube-VIS json to write')
    parser.add_argument(
        '--class-map',
        help='class map json (default: ROOT/classes.json)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/dataset_converters/
    frames2ytvis.py`` calls it)."""
    args = parse_args(argv)
    class_map = args.class_map or osp.join(args.root, 'classes.json')
    with exit_on_user_error():
        refuse_overwriting_inputs(
            {'OUT': args.out}, [('class map', class_map)],
            folders=[('frame folder', osp.join(args.root, 'JPEGImages')),
                     ('mask folder', osp.join(args.root, 'Annotations'))])
        ytvis = frames2ytvis(args.root, args.out, class_map,
                             not args.no_progress)
    num_frames = sum(video['length'] for video in ytvis['videos'])
    print(f'{args.out}: {len(ytvis["videos"])} videos, {num_frames} '
          f'frames, {len(ytvis["annotations"])} instances, '
          f'{len(ytvis["categories"])} categories')


__all__ = [
    'ClassMap', 'natural_sort_key', 'read_instance_id_mask',
    'convert_frames_to_ytvis', 'frames2ytvis', 'main'
]
