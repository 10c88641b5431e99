"""The YouTube-VIS side of the converters from per-frame annotation
formats (``mots2ytvis``, ``cocotrack2ytvis``, ``labelme2ytvis``): the
class map from source class names, per-frame instance masks gathered into
tracks, and the json (the layout of ``frames2ytvis``).

Class map (json, written by hand)::

    {
      "classes": ["car", "person"],
      "source_classes": {"1": "car", "2": "person", "bicycle": null}
    }

``classes`` as in ``frames2ytvis``'s class map (ids 1, 2, ... in order);
``source_classes`` (optional) maps a source class name (a MOTS
``class_id`` as a string, a COCO category ``name``, a LabelMe ``label``)
to one of them, or ``null`` to leave it out; without it every source class
must be in ``classes``. Each annotation keeps the source's instance id as
``source_id`` (``null`` where there is none).
"""
from collections import Counter
from typing import Dict, Hashable, List, Optional, Tuple

import numpy as np
import pycocotools.mask as mask_utils

from ...structures.rle import segmentation_rle
from ...structures.vis_format import VISFormatError, load_json
from ...utils.natural_sort import natural_sort_key
from ...utils.user_errors import UserError
from .frames2ytvis import ClassMap, track_annotation

SOURCE_CLASS_MAP_KEYS = ('classes', 'source_classes')


class SourceClassMap:
    """A parsed class map of source class names.

    Attributes:
        categories (list[dict]): ``{"id", "name"[, "supercategory"]}``.
        targets (dict[str, int | None] | None): Source class name ->
            category id (``None``: not converted); ``None`` without
            ``source_classes``.
        path (str): The file it was read from (for error messages).
    """

    def __init__(self, categories: List[dict],
                 targets: Optional[Dict[str, Optional[int]]], path: str):
        self.categories = categories
        self.targets = targets
        self.path = path

    @classmethod
    def from_file(cls, path: str) -> 'SourceClassMap':
        """Read and check a class map json.

        Raises:
            OSError: ``path`` is missing or unreadable.
            VISFormatError: The content breaks the format; the message
                names the file and the entry.
        """
        raw = load_json(path)
        if not isinstance(raw, dict):
            raise VISFormatError(f'{path}: the top level must be an object '
                                 'with "classes" and optionally '
                                 '"source_classes"')
        unknown = sorted(set(raw) - set(SOURCE_CLASS_MAP_KEYS))
        if unknown:
            raise VISFormatError(
                f'{path}: unknown top-level key(s) {unknown}; expected '
                f'{list(SOURCE_CLASS_MAP_KEYS)}')
        categories = ClassMap.parse_classes(raw.get('classes'), path)
        if 'source_classes' not in raw:
            return cls(categories, None, path)
        id_of = {cat['name']: cat['id'] for cat in categories}
        mapping = raw['source_classes']
        if not isinstance(mapping, dict):
            raise VISFormatError(f'{path}: "source_classes" must be an '
                                 'object mapping source class names to '
                                 'names in "classes" (or null)')
        targets = {}
        for source, target in mapping.items():
            if target is not None and (not isinstance(target, str)
                                       or target not in id_of):
                raise VISFormatError(
                    f'{path}: "source_classes" maps {source!r} to '
                    f'{target!r}, which is not in "classes" {list(id_of)} '
                    '(or null)')
            targets[source] = None if target is None else id_of[target]
        return cls(categories, targets, path)

    def category_id(self, source: str, where: str) -> Optional[int]:
        """The category id of source class ``source``; ``None`` if it is
        mapped to ``null``.

        Raises:
            UserError: ``source`` is not in the map, after ``where``.
        """
        if self.targets is None:
            for category in self.categories:
                if category['name'] == source:
                    return category['id']
            raise UserError(
                f'{where}: class {source!r} is not in the class map '
                f'{self.path} ("classes" lists '
                f'{[c["name"] for c in self.categories]}; add it there or '
                'map it in "source_classes")')
        if source not in self.targets:
            raise UserError(
                f'{where}: class {source!r} is not in the class map '
                f'{self.path} ("source_classes" lists '
                f'{sorted(self.targets, key=natural_sort_key)}; map it to '
                'a class, or to null to leave it out)')
        return self.targets[source]


def polygons_rle(polygons: List[List[float]], height: int,
                 width: int) -> dict:
    """Compressed RLE of the union of polygons (COCO's rasterization, as
    the package's datasets and evaluation decode polygons).

    Args:
        polygons (list[list[float]]): Each ``[x0, y0, x1, y1, ...]`` in
            pixels, already checked to lie in the frame.
        height, width (int): The frame size.

    Returns:
        dict: ``{'size': [height, width], 'counts': str}``.
    """
    rle = segmentation_rle(polygons, height, width)
    return dict(size=[height, width], counts=rle['counts'].decode('ascii'))


def merge_rles(rles: List[dict]) -> dict:
    """Compressed RLE (``str`` counts) of the union of compressed RLEs
    (``str`` or ``bytes`` counts) of one frame size."""
    rle = mask_utils.merge([_bytes_rle(r) for r in rles])
    return dict(
        size=[int(v) for v in rle['size']],
        counts=rle['counts'].decode('ascii'))


def _bytes_rle(rle: dict) -> dict:
    return segmentation_rle(rle, *rle['size'])


class VideoTracks:
    """The instances of one video, gathered frame by frame.

    Args:
        name (str): The video's name (sorts the videos).
        file_names (list[str]): Its frames, relative to the image root,
            in order.
        height, width (int): The frame size.
        class_map (SourceClassMap): Maps source classes.
    """

    def __init__(self, name: str, file_names: List[str], height: int,
                 width: int, class_map: SourceClassMap):
        self.name = name
        self.file_names = file_names
        self.height = height
        self.width = width
        self.class_map = class_map
        self._segmentations: Dict[Hashable, List[Optional[dict]]] = {}
        # class, crowd, where first seen
        self._first: Dict[Hashable, Tuple[str, int, str]] = {}
        self._source_ids: Dict[Hashable, Optional[int]] = {}
        self._at: Dict[Tuple[Hashable, int], str] = {}
        #: Source class name -> number of frame masks not converted
        #: (mapped to null).
        self.not_converted: Counter = Counter()

    def add(self,
            frame_index: int,
            instance: Hashable,
            source_class: str,
            rle: dict,
            where: str,
            iscrowd: int = 0,
            source_id: Optional[int] = None) -> None:
        """Add instance ``instance``'s mask in frame ``frame_index``.

        Args:
            frame_index (int): Index into ``file_names``.
            instance (Hashable): The instance (track) in the source: its
                id, or a key that sorts among the video's other keys.
            source_class (str): Its class name in the source.
            rle (dict): Its mask, compressed RLE of the frame size
                (``str`` or ``bytes`` counts).
            where (str): Names the file, frame (and line) in errors.
            iscrowd (int): The source's crowd flag (0 or 1).
            source_id (int, optional): The instance's id in the source
                files, written as the annotation's ``source_id``; ``None``
                where the source gives none.

        Raises:
            UserError: The class is not in the class map, the instance
                has another class or crowd flag elsewhere, it is twice in
                the frame, or the mask is empty.
        """
        assert 0 <= frame_index < len(self.file_names)
        assert [int(v) for v in rle['size']] == [self.height, self.width]
        category_id = self.class_map.category_id(source_class, where)
        if instance in self._first:
            first_class, first_crowd, first_at = self._first[instance]
            if first_class != source_class:
                raise UserError(
                    f'{where}: instance {instance} has class '
                    f'{source_class!r} here but {first_class!r} in '
                    f'{first_at}; one instance has one class')
            if first_crowd != iscrowd:
                raise UserError(
                    f'{where}: instance {instance} has iscrowd {iscrowd} '
                    f'here but {first_crowd} in {first_at}')
        else:
            self._first[instance] = (source_class, iscrowd, where)
            self._source_ids[instance] = source_id
        if (instance, frame_index) in self._at:
            raise UserError(
                f'{where}: instance {instance} is annotated twice in this '
                f'frame (also in {self._at[instance, frame_index]})')
        self._at[instance, frame_index] = where
        if int(mask_utils.area(_bytes_rle(rle))) == 0:
            raise UserError(f'{where}: the mask of instance {instance} is '
                            'empty (0 pixels)')
        if category_id is None:
            self.not_converted[source_class] += 1
            return
        segmentations = self._segmentations.setdefault(
            instance, [None] * len(self.file_names))
        counts = rle['counts']
        segmentations[frame_index] = dict(
            size=[self.height, self.width],
            counts=counts if isinstance(counts, str) else
            counts.decode('ascii'))

    def annotations(self, first_id: int, video_id: int) -> List[dict]:
        """The YouTube-VIS annotations, in increasing source instance id
        (key), numbered from ``first_id``, each with its ``source_id``."""
        out = []
        for instance in sorted(self._segmentations):
            source_class, iscrowd, where = self._first[instance]
            out.append(
                track_annotation(
                    self._segmentations[instance], first_id + len(out),
                    video_id,
                    self.class_map.category_id(source_class, where),
                    self.height, self.width, iscrowd,
                    self._source_ids[instance]))
        return out


def build_ytvis(videos: List[VideoTracks], class_map: SourceClassMap,
                description: str) -> dict:
    """The YouTube-VIS json of ``videos``.

    Videos get ids 1, 2, ... in natural order of their names; annotation
    ids run over all videos (per video in increasing source instance id).

    Args:
        videos (list[VideoTracks]): Distinct names.
        class_map (SourceClassMap): Gives the categories.
        description (str): ``info.description``.

    Returns:
        dict: The json content (layout of ``frames2ytvis``'s output).
    """
    names = [video.name for video in videos]
    assert len(set(names)) == len(names), f'duplicate videos in {names}'
    out = dict(
        info=dict(description=description),
        licenses=[],
        categories=class_map.categories,
        videos=[],
        annotations=[])
    ordered = sorted(videos, key=lambda v: natural_sort_key(v.name))
    for video_id, video in enumerate(ordered, 1):
        out['videos'].append(
            dict(
                id=video_id,
                file_names=list(video.file_names),
                height=video.height,
                width=video.width,
                length=len(video.file_names)))
        out['annotations'] += video.annotations(
            len(out['annotations']) + 1, video_id)
    return out


def summary_line(out_path: str, ytvis: dict, videos: List[VideoTracks],
                 extra: Optional[str] = None) -> str:
    """One line for the user: what was written and what was left out.

    Args:
        out_path (str): The written json.
        ytvis (dict): Its content.
        videos (list[VideoTracks]): The converted videos.
        extra (str, optional): Appended (e.g. MOTS ignore regions).
    """
    num_frames = sum(video['length'] for video in ytvis['videos'])
    line = (f'{out_path}: {len(ytvis["videos"])} videos, {num_frames} '
            f'frames, {len(ytvis["annotations"])} instances, '
            f'{len(ytvis["categories"])} categories')
    left_out = sum((video.not_converted for video in videos), Counter())
    if left_out:
        line += '; not converted (null in the class map): ' + ', '.join(
            f'{name!r} {count} masks' for name, count in sorted(
                left_out.items(), key=lambda kv: natural_sort_key(kv[0])))
    if extra:
        line += '; ' + extra
    return line


def require_int(value, where: str, what: str, minimum: int = 0) -> int:
    """``value`` if it is an int ``>= minimum`` (not a bool).

    Raises:
        UserError: ``'{where}: {what} must be an integer >= {minimum}'``.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(
            value, (bool, np.bool_)) and value >= minimum:
        return int(value)
    raise UserError(f'{where}: {what} must be an integer >= {minimum}, got '
                    f'{value!r}')


__all__ = [
    'SourceClassMap', 'VideoTracks', 'build_ytvis', 'merge_rles',
    'polygons_rle', 'require_int', 'summary_line'
]
