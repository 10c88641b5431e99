"""Masks and segmentations as COCO run-length encodings (pycocotools)."""
from typing import List

import numpy as np
from pycocotools import mask as mask_utils


def encode_mask(mask: np.ndarray) -> dict:
    """Compressed RLE of a mask.

    Args:
        mask (np.ndarray): (H, W), bool or 0/1.

    Returns:
        dict: ``{'size': [H, W], 'counts': str}`` (json-ready).
    """
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(
        size=[int(v) for v in rle['size']],
        counts=rle['counts'].decode('ascii'))


def encode_masks(masks: np.ndarray) -> List[dict]:
    """Compressed RLEs of masks, encoded in one call.

    Args:
        masks (np.ndarray): (n, H, W), bool or 0/1.

    Returns:
        list[dict]: n of ``{'size': [H, W], 'counts': str}``.
    """
    if len(masks) == 0:
        return []
    rles = mask_utils.encode(
        np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    return [
        dict(size=[int(v) for v in rle['size']],
             counts=rle['counts'].decode('ascii')) for rle in rles
    ]


def decode_rle(rle: dict) -> np.ndarray:
    """The mask of a compressed RLE (``counts`` str, as in json, or bytes).

    Returns:
        np.ndarray: (H, W) bool.
    """
    height, width = rle['size']
    return mask_utils.decode(segmentation_rle(rle, height,
                                              width)).astype(bool)


def segmentation_rle(segmentation, height: int, width: int) -> dict:
    """Compressed RLE of a frame segmentation (polygons, uncompressed or
    compressed RLE) that
    :func:`~mmvis_clip.utils.vis_format.check_segmentation` accepted.

    Returns:
        dict: ``{'size': [height, width], 'counts': bytes}``.
    """
    if isinstance(segmentation, list):
        return mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation['counts'], list):
        return mask_utils.frPyObjects(segmentation, height, width)
    counts = segmentation['counts']
    if isinstance(counts, str):
        counts = counts.encode('ascii')
    return dict(size=[height, width], counts=counts)
