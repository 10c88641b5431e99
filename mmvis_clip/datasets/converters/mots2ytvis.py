"""Build a YouTube-VIS json from MOTS annotations (KITTI MOTS,
MOTSChallenge): ``instances_txt`` files or ``instances`` PNGs.

Layout::

    IMAGES/<seq>/<frame>.png|.jpg          frames, named by frame number
                                           (000000.png or 000001.jpg)
    ANNOTATIONS/<seq>.txt                  instances_txt layout, or
    ANNOTATIONS/<seq>/<frame>.png          instances layout

* One video per annotated sequence, its frames those of ``IMAGES/<seq>``.
* ``instances_txt``: lines ``frame_number obj_id class_id height width
  rle``; ``frame_number`` is the frame file's number, ``rle`` a COCO
  compressed RLE of the frame's size.
* ``instances``: 16-bit PNGs named and sized as their frames, 0 =
  background, else ``obj_id``.
* ``obj_id = class_id * 1000 + instance_id`` is the identity; class 10
  (ignore regions) is not converted. Source class names are the class ids
  as strings.

Output: the json layout of ``frames2ytvis`` (annotations per sequence by
``obj_id``, which is their ``source_id``); ``file_names`` are
``<seq>/<frame file>``, relative to ``IMAGES``.
"""
import argparse
import os
import os.path as osp
import textwrap
from typing import Dict, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from ...structures.rle import encode_mask
from ...structures.vis_format import check_segmentation
from ...utils.atomic_io import dump_json_atomic, refuse_overwriting_inputs
from ...utils.natural_sort import natural_sort_key
from ...utils.user_errors import UserError, exit_on_user_error
from .frames2ytvis import list_folder, read_instance_id_mask, video_frames
from .ytvis_tracks import (SourceClassMap, VideoTracks, build_ytvis,
                           summary_line)

MOTS_CLASS_DIVISOR = 1000  # obj_id = class_id * 1000 + instance_id
MOTS_IGNORE_CLASS = 10
MOTS_TXT_FIELDS = ('frame_number', 'obj_id', 'class_id', 'height', 'width',
                   'rle')


class MOTSSequence:
    """The frames of one sequence and what was read into it.

    Args:
        image_root (str): ``IMAGES``.
        name (str): The sequence (folder) name.
        class_map (SourceClassMap): Maps the class ids.
    """

    def __init__(self, image_root: str, name: str,
                 class_map: SourceClassMap):
        folder = osp.join(image_root, name)
        if not osp.isdir(folder):
            raise UserError(f'{folder}: frame folder of sequence {name!r} '
                            'not found')
        stems, names, height, width = video_frames(image_root, name)
        numbers = [
            frame_number(stem, osp.join(folder, file_name))
            for stem, file_name in zip(stems, names)
        ]
        order = sorted(range(len(names)), key=lambda i: numbers[i])
        self.folder = folder
        self.index_of: Dict[int, int] = {}
        for index, i in enumerate(order):
            if numbers[i] in self.index_of:
                other = names[order[self.index_of[numbers[i]]]]
                raise UserError(
                    f'{osp.join(folder, names[i])}: frame number '
                    f'{numbers[i]} is also the number of {other}')
            self.index_of[numbers[i]] = index
        self.file_names = [names[i] for i in order]
        self.num_ignore_masks = 0
        self.tracks = VideoTracks(
            name, [f'{name}/{names[i]}' for i in order], height, width,
            class_map)

    def frame(self, number: int, where: str) -> Tuple[int, str]:
        """Index and ``where`` naming the frame file of frame ``number``.

        Raises:
            UserError: No frame file has this number (a missing frame).
        """
        if number not in self.index_of:
            raise UserError(
                f'{where}: frame {number} has no frame file in '
                f'{self.folder} (frames are matched by the number in their '
                'name)')
        index = self.index_of[number]
        return index, f'{where}: frame {number} ({self.file_names[index]})'

    def add(self, index: int, obj_id: int, rle: dict, where: str) -> None:
        """Add object ``obj_id``'s mask in frame ``index`` (ignore regions
        are counted, not added)."""
        class_id = obj_id // MOTS_CLASS_DIVISOR
        if class_id == MOTS_IGNORE_CLASS:
            self.num_ignore_masks += 1
            return
        self.tracks.add(
            index, obj_id, str(class_id), rle, where, source_id=obj_id)


def frame_number(stem: str, path: str) -> int:
    """The frame number of a MOTS file name stem (``'000012'`` -> 12).

    Raises:
        UserError: The stem is not all digits, naming ``path``.
    """
    if not stem.isascii() or not stem.isdigit():
        raise UserError(f'{path}: MOTS frames and PNGs are named by their '
                        f'frame number (e.g. 000012.png), got {stem!r}')
    return int(stem)


def _parse_int(text: str, field: str, where: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise UserError(f'{where}: {field} must be a non-negative integer, '
                        f'got {text!r}')
    return int(text)


def _check_obj_id(obj_id: int, class_id: int, where: str) -> None:
    if class_id == 0 or obj_id // MOTS_CLASS_DIVISOR != class_id:
        raise UserError(
            f'{where}: obj_id {obj_id} is not class_id * 1000 + '
            f'instance_id for class_id {class_id} (class ids start at 1)')


def read_mots_txt(path: str, sequence: MOTSSequence) -> None:
    """Read one ``instances_txt`` file into ``sequence``.

    Raises:
        UserError: Bad content, naming the file, line and frame.
    """
    height, width = sequence.tracks.height, sequence.tracks.width
    with open(path, encoding='utf-8') as f:
        try:
            lines = f.read().split('\n')
        except UnicodeDecodeError as err:
            raise UserError(f'{path}: not a MOTS text file ({err})') from None
    for line_no, line in enumerate(lines, 1):
        line = line.rstrip('\r')
        where = f'{path}:{line_no}'
        if not line.strip():
            continue
        fields = line.split(' ')
        if len(fields) != len(MOTS_TXT_FIELDS):
            raise UserError(
                f'{where}: expected {len(MOTS_TXT_FIELDS)} fields separated '
                f'by single spaces ({" ".join(MOTS_TXT_FIELDS)}), found '
                f'{len(fields)}')
        number, obj_id, class_id, mask_h, mask_w = (
            _parse_int(text, field, where)
            for text, field in zip(fields[:5], MOTS_TXT_FIELDS))
        index, where = sequence.frame(number, where)
        _check_obj_id(obj_id, class_id, where)
        if (mask_h, mask_w) != (height, width):
            raise UserError(
                f'{where}: the mask is {mask_h}x{mask_w} (height x width) '
                f'but the frame is {height}x{width}')
        rle = dict(size=[height, width], counts=fields[5])
        check_segmentation(rle, height, width, f'{where}: rle')
        sequence.add(index, obj_id, rle, where)


def read_mots_pngs(folder: str, sequence: MOTSSequence) -> None:
    """Read one sequence's ``instances`` PNGs into ``sequence``.

    Raises:
        UserError: Bad content, naming the file and frame.
    """
    height, width = sequence.tracks.height, sequence.tracks.width
    masks = list_folder(folder, ('.png', ), 'MOTS instance PNGs')
    for stem in sorted(masks, key=natural_sort_key):
        path = osp.join(folder, masks[stem])
        index, where = sequence.frame(frame_number(stem, path), path)
        ids = read_instance_id_mask(path)
        if ids.shape != (height, width):
            raise UserError(
                f'{where}: the PNG is {ids.shape[0]}x{ids.shape[1]} (height '
                f'x width) but the frame is {height}x{width}')
        for value in np.unique(ids):
            value = int(value)
            if value == 0:
                continue
            value_where = f'{where}: pixel value {value}'
            _check_obj_id(value, value // MOTS_CLASS_DIVISOR, value_where)
            sequence.add(index, value, encode_mask(ids == value), value_where)


def _annotation_sources(ann_root: str) -> Tuple[str, Dict[str, str]]:
    """``('txt' | 'png', {sequence: path})`` of the annotations folder."""
    if not osp.isdir(ann_root):
        raise UserError(f'{ann_root}: annotations folder not found')
    txt, png = {}, {}
    for name in os.listdir(ann_root):
        path = osp.join(ann_root, name)
        if name.startswith('.'):
            continue
        if osp.isdir(path):
            png[name] = path
        elif name.endswith('.txt'):
            txt[name[:-len('.txt')]] = path
        else:
            raise UserError(
                f'{path}: unexpected file; a MOTS annotations folder holds '
                '<seq>.txt files (instances_txt) or <seq>/ folders of PNGs '
                '(instances)')
    if txt and png:
        raise UserError(
            f'{ann_root}: holds both .txt files ({sorted(txt)[0]}.txt) and '
            f'folders ({sorted(png)[0]}/); use one layout, instances_txt '
            'or instances')
    if not txt and not png:
        raise UserError(f'{ann_root}: no <seq>.txt file or <seq>/ folder '
                        'of PNGs found')
    return ('txt', txt) if txt else ('png', png)


def convert_mots_to_ytvis(
        image_root: str,
        ann_root: str,
        class_map_path: str,
        show_progress: bool = True) -> Tuple[dict, List[MOTSSequence], int]:
    """Build the YouTube-VIS json of MOTS annotations.

    Args:
        image_root (str): ``IMAGES``.
        ann_root (str): ``ANNOTATIONS``: ``instances_txt`` or
            ``instances``.
        class_map_path (str): The class map
            (:class:`~.ytvis_tracks.SourceClassMap`).
        show_progress (bool): Show a tqdm bar over the sequences.

    Returns:
        tuple: The json content, the sequences read, and the number of
        frame folders without annotations (not converted).

    Raises:
        UserError: Bad input, naming the file, line and frame.
    """
    class_map = SourceClassMap.from_file(class_map_path)
    layout, sources = _annotation_sources(ann_root)
    if not osp.isdir(image_root):
        raise UserError(f'{image_root}: frames folder not found')
    sequences = []
    for name in tqdm(
            sorted(sources, key=natural_sort_key),
            desc='mots2ytvis',
            unit='seq',
            disable=not show_progress):
        sequence = MOTSSequence(image_root, name, class_map)
        if layout == 'txt':
            read_mots_txt(sources[name], sequence)
        else:
            read_mots_pngs(sources[name], sequence)
        sequences.append(sequence)
    unannotated = [
        name for name in os.listdir(image_root)
        if not name.startswith('.') and name not in sources
        and osp.isdir(osp.join(image_root, name))
    ]
    source = 'instances_txt' if layout == 'txt' else 'instances PNGs'
    ytvis = build_ytvis([s.tracks for s in sequences], class_map,
                        'video instance segmentation json made by '
                        f'mots2ytvis from MOTS {source}')
    return ytvis, sequences, len(unannotated)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Build a YouTube-VIS (2019 style) json from MOTS annotations
            (KITTI MOTS / MOTSChallenge).

            layout:
              IMAGES/<seq>/<frame>.png|.jpg   frames named by frame number
              ANNOTATIONS/<seq>.txt           instances_txt: lines
                  "frame_number obj_id class_id height width rle"
              or ANNOTATIONS/<seq>/<frame>.png  instances: 16-bit PNGs,
                  pixel = class_id * 1000 + instance_id (0 background)
            class 10 (obj_id 10000) = ignore region, not converted.

            class map (json): {"classes": ["car", "person"],
              "source_classes": {"1": "car", "2": "person"}}
            (MOTS class ids as strings; null leaves a class out)
            """),
        epilog='Details: mmvis_clip/datasets/converters/mots2ytvis.py')
    parser.add_argument('images', help='folder of the sequence frame '
                        'folders (KITTI MOTS: training/image_02)')
    parser.add_argument('annotations', help='instances_txt folder (<seq>.txt'
                        ') or instances folder (<seq>/<frame>.png)')
    parser.add_argument('out', help='YouTube-VIS json to write')
    parser.add_argument('--class-map', required=True, help='class map json')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/dataset_converters/
    mots2ytvis.py`` calls it)."""
    args = parse_args(argv)
    with exit_on_user_error():
        refuse_overwriting_inputs(
            {'OUT': args.out}, [('class map', args.class_map)],
            folders=[('frames folder', args.images),
                     ('annotations folder', args.annotations)])
        ytvis, sequences, unannotated = convert_mots_to_ytvis(
            args.images, args.annotations, args.class_map,
            not args.no_progress)
        dump_json_atomic(ytvis, args.out)
    extra = []
    num_ignore_masks = sum(s.num_ignore_masks for s in sequences)
    if num_ignore_masks:
        extra.append(f'ignore regions (class 10): {num_ignore_masks} masks, '
                     'not converted')
    if unannotated:
        extra.append(f'{unannotated} frame folders in {args.images} have no '
                     'annotations, not converted')
    print(
        summary_line(args.out, ytvis, [s.tracks for s in sequences],
                     '; '.join(extra) or None))


__all__ = [
    'MOTSSequence', 'convert_mots_to_ytvis', 'frame_number', 'main',
    'read_mots_pngs', 'read_mots_txt'
]
