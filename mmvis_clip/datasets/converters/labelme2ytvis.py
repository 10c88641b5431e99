"""Build a YouTube-VIS json from per-frame LabelMe json files, as
LabelMe (``labelme`` 4.0 to 7.1) saves them (rules: docs/data.md, "LabelMe").

Layout::

    ROOT/<video>/<frame>.jpg|.jpeg|.png      frames (natural order)
    ROOT/<video>/<frame>.json                LabelMe's json of the frame
                                             (or ANNOTATIONS/<video>/...)

* A frame without json has no instance; a json without frame is an error.
  Its ``imagePath`` must be the frame's name and ``imageHeight`` /
  ``imageWidth`` its size; ``imageData`` is not read.
* An instance is a ``(label, group_id)``; its shapes in a frame are its
  parts. Shapes with a null ``group_id`` are linked into tracks per label
  by ``link`` (:mod:`.track_linking`: ``'iou'``, the default, or
  ``'order'``). Shape types: :mod:`.labelme_shapes`.

Output: the json layout of ``frames2ytvis`` (per video the instances with
a ``group_id`` by ``group_id`` then label, then the linked ones by their
first shape); ``source_id`` is the ``group_id`` (null when linked);
``file_names`` are relative to ``ROOT``.
"""
import argparse
import os
import os.path as osp
import textwrap
from typing import Dict, List, Optional, Tuple

from tqdm import tqdm

from ...structures.vis_format import load_json
from ...utils.atomic_io import dump_json_atomic, refuse_overwriting_inputs
from ...utils.natural_sort import natural_sort_key
from ...utils.user_errors import UserError, exit_on_user_error
from .frames2ytvis import list_folder, video_frames
from .labelme_shapes import NO_AREA_SHAPE_TYPES, shape_rle, shape_type_of
from .track_linking import (DEFAULT_LINK_IOU, DEFAULT_LINK_RULE, LINK_RULES,
                            FrameLinker)
from .ytvis_tracks import (SourceClassMap, VideoTracks, build_ytvis,
                           merge_rles, require_int, summary_line)

LABELME_EXTENSION = '.json'


class LabelMeVideo:
    """The instances of one video, read frame by frame from LabelMe json.

    Args:
        tracks (VideoTracks): Gathers the video's instances.
        link (str): How shapes without ``group_id`` are linked across
            frames, one of :data:`~.track_linking.LINK_RULES`.
        link_iou (float): Least mask IoU that links them (``'iou'``).
    """

    def __init__(self,
                 tracks: VideoTracks,
                 link: str = DEFAULT_LINK_RULE,
                 link_iou: float = DEFAULT_LINK_IOU):
        self.tracks = tracks
        self.linker = FrameLinker(link, link_iou)
        # linker track -> instance key (first frame, first shape index)
        self._linked: Dict[int, Tuple[int, int, int]] = {}
        #: Shapes without ``group_id`` read (and linked).
        self.num_linked_shapes = 0

    def _check_frame_fields(self, raw, frame_file: str,
                            frame_where: str) -> None:
        if not isinstance(raw, dict) or not isinstance(
                raw.get('shapes'), list):
            raise UserError(f'{frame_where}: a LabelMe json is an object '
                            'with a "shapes" list')
        image_path = raw.get('imagePath')
        if image_path is not None:
            name = str(image_path).replace('\\', '/').split('/')[-1]
            if name != osp.basename(frame_file):
                raise UserError(
                    f'{frame_where}: "imagePath" {image_path!r} is not the '
                    f'frame {osp.basename(frame_file)!r} of the same name '
                    'stem')
        tracks = self.tracks
        for field, size in (('imageHeight', tracks.height),
                            ('imageWidth', tracks.width)):
            if raw.get(field) is not None and require_int(
                    raw[field], frame_where, f'"{field}"') != size:
                raise UserError(
                    f'{frame_where}: "{field}" is {raw[field]} but the frame '
                    f'file is {tracks.height}x{tracks.width} (height x '
                    'width)')

    def read_frame(self, path: str, frame_index: int) -> None:
        """Read the LabelMe json of frame ``frame_index`` (annotated frames
        in frame order).

        Args:
            path (str): The json.
            frame_index (int): The frame's index in the video.

        Raises:
            UserError: Bad content, naming the file, frame, shape and
                field.
        """
        tracks = self.tracks
        frame_where = f'{path} (frame {tracks.file_names[frame_index]})'
        raw = load_json(path)
        self._check_frame_fields(raw, tracks.file_names[frame_index],
                                 frame_where)
        grouped: Dict[Tuple[str, int], Tuple[List[dict], str]] = {}
        ungrouped: Dict[str, List[Tuple[dict, str, int]]] = {}
        left_out = set()
        for index, shape in enumerate(raw['shapes']):
            where = f'{frame_where}: shape {index}'
            if not isinstance(shape, dict):
                raise UserError(f'{where}: must be an object')
            label = shape.get('label')
            if not isinstance(label, str) or not label:
                raise UserError(f'{where}: "label" must be a non-empty '
                                'string')
            where = f'{where} (label {label!r})'
            group_id = shape.get('group_id')
            if group_id is not None and (isinstance(group_id, bool)
                                         or not isinstance(group_id, int)):
                raise UserError(f'{where}: "group_id" must be an integer or '
                                f'null, got {group_id!r}')
            shape_type = shape_type_of(shape, where)
            if tracks.class_map.category_id(label, where) is None:
                left_out.add((label, ('shape', index)
                              if group_id is None else group_id))
                continue
            if shape_type in NO_AREA_SHAPE_TYPES:
                raise UserError(
                    f'{where}: a {shape_type} shape has no area; polygon, '
                    'rectangle, oriented_rectangle, circle and mask shapes '
                    'are converted (map the label to null in '
                    '"source_classes" to leave its shapes out)')
            rle = shape_rle(shape, shape_type, tracks.height, tracks.width,
                            where)
            if group_id is None:
                ungrouped.setdefault(label, []).append((rle, where, index))
            else:
                grouped.setdefault((label, group_id),
                                   ([], where))[0].append(rle)
        for label, _ in left_out:
            tracks.not_converted[label] += 1
        for (label, group_id), (rles, where) in grouped.items():
            tracks.add(
                frame_index, (0, group_id, natural_sort_key(label)),
                label,
                merge_rles(rles) if len(rles) > 1 else rles[0],
                where,
                source_id=group_id)
        self.linker.next_frame()
        for label, shapes in ungrouped.items():
            numbers = self.linker.link(label, [rle for rle, _, _ in shapes])
            for number, (rle, where, index) in zip(numbers, shapes):
                key = self._linked.setdefault(number,
                                              (1, frame_index, index))
                tracks.add(frame_index, key, label, rle, where)
            self.num_linked_shapes += len(shapes)


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
        show_progress: bool = True,
        link: str = DEFAULT_LINK_RULE,
        link_iou: float = DEFAULT_LINK_IOU
) -> Tuple[dict, List[LabelMeVideo]]:
    """Build the YouTube-VIS json of per-frame LabelMe files.

    Args:
        root (str): Folder of the video folders.
        class_map_path (str): The class map
            (:class:`~.ytvis_tracks.SourceClassMap`).
        ann_root (str, optional): Folder of the json folders; defaults to
            ``root`` (json beside the frames).
        show_progress (bool): Show a tqdm bar over the videos.
        link (str): How shapes without ``group_id`` are linked across
            frames: ``'iou'`` or ``'order'``.
        link_iou (float): Least mask IoU that links them, in ``(0, 1]``.

    Returns:
        tuple[dict, list[LabelMeVideo]]: The json content and the videos.

    Raises:
        UserError: Bad input, naming the file, frame, shape and field, or
            the option at fault.
    """
    if link not in LINK_RULES:
        raise UserError(f'--link must be one of {LINK_RULES}, got {link!r}')
    if not 0 < link_iou <= 1:
        raise UserError(f'--link-iou must be in (0, 1], got {link_iou}')
    class_map = SourceClassMap.from_file(class_map_path)
    if not osp.isdir(root):
        raise UserError(f'{root}: folder not found')
    ann_root = root if ann_root is None else ann_root
    if not osp.isdir(ann_root):
        raise UserError(f'{ann_root}: annotations folder not found')
    videos = []
    for name in tqdm(
            _list_videos(root, ann_root),
            desc='labelme2ytvis',
            unit='video',
            disable=not show_progress):
        beside = ann_root == root
        stems, names, height, width = video_frames(
            root, name, (LABELME_EXTENSION, ) if beside else ())
        video = LabelMeVideo(
            VideoTracks(name, [f'{name}/{frame}' for frame in names],
                        height, width, class_map), link, link_iou)
        ann_folder = osp.join(ann_root, name)
        jsons = list_folder(
            ann_folder, (LABELME_EXTENSION, ), 'LabelMe json files',
            ('.jpg', '.jpeg', '.png') if beside else ()) if osp.isdir(
                ann_folder) else {}
        orphans = sorted(set(jsons) - set(stems), key=natural_sort_key)
        if orphans:
            raise UserError(
                f'{osp.join(ann_folder, jsons[orphans[0]])}: LabelMe json '
                'without a frame of the same name stem in '
                f'{osp.join(root, name)}')
        for index, stem in enumerate(stems):  # in frame order (linking)
            if stem in jsons:
                video.read_frame(osp.join(ann_folder, jsons[stem]), index)
        videos.append(video)
    ytvis = build_ytvis([video.tracks for video in videos], class_map,
                        'video instance segmentation json made by '
                        'labelme2ytvis from per-frame LabelMe json')
    return ytvis, videos


def linking_summary(videos: List[LabelMeVideo], link: str,
                    link_iou: float) -> Optional[str]:
    """How many shapes without ``group_id`` were linked into how many
    tracks (for the summary line); ``None`` when there were none."""
    num_shapes = sum(video.num_linked_shapes for video in videos)
    if not num_shapes:
        return None
    rule = f'--link {link}' + (f' --link-iou {link_iou:g}'
                               if link == 'iou' else '')
    return (f'{num_shapes} shapes without group_id linked into '
            f'{sum(video.linker.num_tracks for video in videos)} tracks by '
            f'{rule}')


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
            instances: a shape label with a group_id, across frames
            (person 1 and bottle 1 are two instances; shapes of one label
            and group_id in a frame are its parts). A shape with group_id
            null is an instance of its own, linked across frames by --link.
            shapes: polygon, rectangle, oriented_rectangle, circle, mask;
            points up to 1 pixel outside the frame are clipped.

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
        '--link',
        choices=LINK_RULES,
        default=DEFAULT_LINK_RULE,
        help='how shapes with group_id null are linked across frames, per '
        'label: iou = to the shape of the previous annotated frame they '
        'overlap most (greedy mask IoU >= --link-iou); order = the n-th '
        'such shape in each frame is one track, as LabelMe\'s --keep-prev '
        'copies them (default: %(default)s)')
    parser.add_argument(
        '--link-iou',
        type=float,
        default=DEFAULT_LINK_IOU,
        help='least mask IoU that links two shapes with --link iou '
        '(default: %(default)s)')
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
                                                 not args.no_progress,
                                                 args.link, args.link_iou)
        dump_json_atomic(ytvis, args.out)
    print(
        summary_line(args.out, ytvis, [video.tracks for video in videos],
                     linking_summary(videos, args.link, args.link_iou)))


__all__ = ['LabelMeVideo', 'convert_labelme_to_ytvis', 'main']
