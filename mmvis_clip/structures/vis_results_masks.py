"""YouTube-VIS results as per-frame instance-id PNGs (frames2ytvis layout)::

    OUT/Annotations/<video>/<frame stem>.png   one PNG per frame
    OUT/classes.json                           the class map, written last

``classes.json`` is ``{"classes": [names], "instances": {"<video>":
{"<id>": name}}}``. Ids, overlaps and bit depth: docs/inference.md,
"Results out as files".
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils.atomic_io import dump_json_atomic, write_file_atomic
from ..utils.user_errors import UserError
from .rle import decode_rle
from .vis_annotations import (PathOrList, VideoInfo, VideoInstance,
                              parse_video_results, read_results_list,
                              results_video_ids)

#: Folder of the instance-id PNGs and name of the class map in ``OUT``.
MASK_FOLDER = 'Annotations'
CLASS_MAP_NAME = 'classes.json'
#: Largest id of an 8-bit and of a 16-bit PNG.
MAX_8BIT_ID = 255
MAX_16BIT_ID = 65535


@dataclass(frozen=True)
class VideoFrames:
    """A video that results are written for.

    Attributes:
        info (VideoInfo): Its id (the results' ``video_id``), size, length.
        name (str): Its folder name in ``Annotations/``.
        frame_stems (tuple[str, ...]): ``info.length`` PNG name stems.
    """
    info: VideoInfo
    name: str
    frame_stems: Tuple[str, ...]


def frame_stems(frame_files: Optional[Sequence[str]],
                num_frames: int) -> List[str]:
    """PNG name stems of a video's frames.

    Args:
        frame_files (Sequence[str], optional): The frame files, in order;
            None names the frames by index: ``00000``, ``00001``, ...
        num_frames (int): The number of frames.

    Returns:
        list[str]: ``num_frames`` distinct stems.

    Raises:
        UserError: Two frame files share a stem (``1.jpg``, ``1.png``).
    """
    if frame_files is None:
        return [f'{index:05d}' for index in range(num_frames)]
    assert len(frame_files) == num_frames, (len(frame_files), num_frames)
    stems: Dict[str, str] = {}
    for path in frame_files:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in stems:
            raise UserError(
                f'frames {stems[stem]} and {path} have the same name stem '
                f'{stem!r}; instance-id PNGs are named by the frame stem')
        stems[stem] = path
    return list(stems)


def dataset_video_frames(dataset) -> List[VideoFrames]:
    """The videos of a built mmdet ``BaseVideoDataset``, frames in the
    dataset's order.

    Raises:
        UserError: A video whose frames lie in several folders, or two
            videos in folders of one name.
    """
    videos, names = [], {}
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        images = info['images']
        paths = [image['img_path'] for image in images]
        folders = {osp.dirname(path) for path in paths}
        if len(folders) != 1:
            raise UserError(
                f'video {info["video_id"]}: its frames lie in '
                f'{len(folders)} folders ({sorted(folders)[:2]}); an '
                'instance-id mask folder is made per frame folder')
        name = osp.basename(folders.pop())
        if name in names:
            raise UserError(
                f'videos {names[name]} and {info["video_id"]} both have '
                f'their frames in a folder named {name!r}')
        names[name] = info['video_id']
        video = VideoInfo(info['video_id'], int(images[0]['height']),
                          int(images[0]['width']), len(images))
        videos.append(
            VideoFrames(video, name, tuple(frame_stems(paths, len(paths)))))
    return videos


def kept_results(instances: Sequence[VideoInstance],
                 score_thr: float) -> List[Tuple[int, VideoInstance]]:
    """(instance id, result) of the results of one video scoring at least
    ``score_thr``, ids 1, 2, ... in input order."""
    kept = [inst for inst in instances if inst.score >= score_thr]
    return list(enumerate(kept, 1))


def decode_frame_masks(kept: Sequence[Tuple[int, VideoInstance]],
                       frame_index: int, height: int,
                       width: int) -> Tuple[np.ndarray, np.ndarray]:
    """The non-empty masks of one frame.

    Args:
        kept (Sequence[tuple[int, VideoInstance]]): (id, result) pairs of
            one video (:func:`kept_results`).
        frame_index (int): The frame.
        height, width (int): Frame size H, W.

    Returns:
        tuple[np.ndarray, np.ndarray]: Indices into ``kept`` (n,) int64
        and masks (n, H, W) bool.
    """
    indices, masks = [], []
    for index, (_, inst) in enumerate(kept):
        rle = inst.rles[frame_index]
        if rle is None:
            continue
        mask = decode_rle(rle)
        if mask.any():
            indices.append(index)
            masks.append(mask)
    masks = np.stack(masks) if masks else np.zeros((0, height, width), bool)
    return np.asarray(indices, dtype=np.int64), masks


def instance_id_map(kept: Sequence[Tuple[int, VideoInstance]],
                    frame_index: int, height: int,
                    width: int) -> np.ndarray:
    """The instance-id map of one frame, overlaps resolved by score.

    Args:
        kept (Sequence[tuple[int, VideoInstance]]): (id, result) pairs of
            one video (:func:`kept_results`).
        frame_index (int): The frame.
        height, width (int): Frame size H, W.

    Returns:
        np.ndarray: (H, W) int64; 0 is background, else the id of the
        highest-scoring result there (ties: the earlier one).
    """
    ids = np.zeros((height, width), dtype=np.int64)
    indices, masks = decode_frame_masks(kept, frame_index, height, width)
    # highest score first, ties in input order; a pixel keeps its first id
    order = sorted(range(len(indices)),
                   key=lambda j: (-kept[indices[j]][1].score, indices[j]))
    for j in order:
        ids[masks[j] & (ids == 0)] = kept[indices[j]][0]
    return ids


def _write_png(ids: np.ndarray, path: str, sixteen_bit: bool) -> None:
    from PIL import Image  # here: the evaluator's start-up needs no PIL
    image = Image.fromarray(
        ids.astype(np.uint16 if sixteen_bit else np.uint8))
    write_file_atomic(path, lambda tmp_path: image.save(tmp_path, 'PNG'))


def _check_video_ids(results: list, name: str,
                     videos: Sequence[VideoFrames]) -> None:
    """Refuse results of videos that are not among ``videos``."""
    known = {video.info.id for video in videos}
    unknown = [i for i in results_video_ids(results, name) if i not in known]
    if unknown:
        raise UserError(
            f'{name}: results of video_id {unknown[0]}, which is not among '
            f'the {len(known)} videos whose frames are given (ids '
            f'{sorted(known)[:8]})')


def write_results_as_id_masks(results: PathOrList,
                              videos: Sequence[VideoFrames],
                              categories: Sequence[dict],
                              out_dir: str,
                              score_thr: float = 0.0,
                              name: Optional[str] = None) -> Dict[str, int]:
    """Write YouTube-VIS results as instance-id PNGs and a class map.

    Args:
        results (str | PathLike | list[dict]): The results, or their json
            file (or submission zip).
        videos (Sequence[VideoFrames]): Every video of the results.
        categories (Sequence[dict]): ``{"id", "name"}`` of every category,
            in the order of the class map's ``classes``.
        out_dir (str): The output folder (new or empty: the caller checks).
        score_thr (float): Results scoring below it are not written.
        name (str, optional): Names the results in messages.

    Returns:
        dict[str, int]: ``videos``, ``frames``, ``instances`` (in the
        PNGs), ``below_thr`` and ``hidden`` (in no PNG: covered or empty).

    Raises:
        UserError: A result of an unknown video or category, or one that
            does not fit its video's length or frame size.
    """
    results, name = read_results_list(results, name)
    names = [cat['name'] for cat in categories]
    assert len(set(names)) == len(names), f'duplicate class names {names}'
    name_of = {cat['id']: cat['name'] for cat in categories}
    assert len({video.name for video in videos}) == len(videos)
    _check_video_ids(results, name, videos)
    class_map = dict(classes=names, instances={})
    summary = dict(videos=0, frames=0, instances=0, below_thr=0, hidden=0)
    for video in videos:
        info = video.info
        assert len(video.frame_stems) == info.length
        if not video.name or osp.basename(video.name) != video.name \
                or video.name in ('.', '..'):
            raise UserError(f'video {info.id}: {video.name!r} cannot be a '
                            'folder name in ' + MASK_FOLDER)
        instances = [
            inst for _, inst in parse_video_results(results, info,
                                                    set(name_of), name)
        ]
        kept = kept_results(instances, score_thr)
        if len(kept) > MAX_16BIT_ID:
            raise UserError(
                f'{name}: video {info.id} has {len(kept)} results scoring '
                f'at least {score_thr}; a 16-bit PNG holds {MAX_16BIT_ID} '
                'ids at most (raise the score threshold)')
        sixteen_bit = len(kept) > MAX_8BIT_ID
        folder = osp.join(out_dir, MASK_FOLDER, video.name)
        present = set()
        for frame_index, stem in enumerate(video.frame_stems):
            ids = instance_id_map(kept, frame_index, info.height, info.width)
            present.update(int(v) for v in np.unique(ids) if v)
            _write_png(ids, osp.join(folder, f'{stem}.png'), sixteen_bit)
        class_map['instances'][video.name] = {
            str(inst_id): name_of[inst.category_id]
            for inst_id, inst in kept if inst_id in present
        }
        summary['videos'] += 1
        summary['frames'] += info.length
        summary['instances'] += len(present)
        summary['below_thr'] += len(instances) - len(kept)
        summary['hidden'] += len(kept) - len(present)
    dump_json_atomic(class_map, osp.join(out_dir, CLASS_MAP_NAME))
    return summary
