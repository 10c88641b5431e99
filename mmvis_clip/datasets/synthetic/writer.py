"""Write rendered synthetic videos: JPEG frames and raw YouTube-VIS
annotations (RLE masks with ``str`` counts)."""
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from ...structures.rle import encode_mask
from ...utils.atomic_io import write_bytes_atomic
from .classes import SYNTHETIC_VIS_CLASSES

JPEG_QUALITY = 90


def raw_track_annotation(masks: List[Optional[np.ndarray]], category: str,
                         ann_id: int, video_id: int) -> dict:
    """Raw YouTube-VIS annotation of one instance.

    Args:
        masks (list[np.ndarray | None]): Per frame visible bool mask
            (H, W), ``None`` where the instance is absent.
        category (str): Class name.
        ann_id (int): Annotation id (>= 1; becomes the instance id).
        video_id (int): Video id.

    Returns:
        dict: ``segmentations``/``bboxes``/``areas`` lists of length L with
        ``None`` in absent frames, plus ids, ``iscrowd`` and the size.
    """
    height, width = next(m for m in masks if m is not None).shape
    segmentations, bboxes, areas = [], [], []
    for mask in masks:
        if mask is None:
            segmentations.append(None)
            bboxes.append(None)
            areas.append(None)
            continue
        rle = encode_mask(mask)
        compressed = dict(size=rle['size'], counts=rle['counts'].encode())
        segmentations.append(rle)
        bboxes.append([float(v) for v in mask_utils.toBbox(compressed)])
        areas.append(int(mask_utils.area(compressed)))
    return dict(
        id=ann_id,
        video_id=video_id,
        category_id=SYNTHETIC_VIS_CLASSES.index(category) + 1,
        iscrowd=0,
        height=int(height),
        width=int(width),
        segmentations=segmentations,
        bboxes=bboxes,
        areas=areas)


def write_video_frames(frames: List[np.ndarray], image_root: str,
                       video_name: str) -> List[str]:
    """Write BGR frames as ``image_root/video_name/{t:05d}.jpg`` (JPEG
    quality :data:`JPEG_QUALITY`, atomically).

    Returns:
        list[str]: File names relative to ``image_root``.
    """
    file_names = []
    for frame_id, frame in enumerate(frames):
        file_name = f'{video_name}/{frame_id:05d}.jpg'
        ok, data = cv2.imencode('.jpg', frame,
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f'JPEG encoding failed for {file_name}')
        write_bytes_atomic(data.tobytes(), osp.join(image_root, file_name))
        file_names.append(file_name)
    return file_names
