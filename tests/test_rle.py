import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmvis_clip.structures.rle import (decode_rle, encode_mask, encode_masks,
                                       segmentation_rle)


def _masks():
    masks = np.zeros((3, 5, 7), bool)
    masks[0, 1:3, 2:6] = True
    masks[1, 4, 0] = True  # last row, first column
    masks[2, :, 6] = True
    return masks


def test_encode_decode_round_trip():
    masks = _masks()
    rles = encode_masks(masks)
    assert [r['size'] for r in rles] == [[5, 7]] * 3
    assert all(isinstance(r['counts'], str) for r in rles)
    for mask, rle in zip(masks, rles):
        assert rle == encode_mask(mask)
        decoded = decode_rle(rle)
        assert decoded.dtype == bool and (decoded == mask).all()
        as_bytes = dict(size=rle['size'], counts=rle['counts'].encode())
        assert (decode_rle(as_bytes) == mask).all()
    assert encode_masks(np.zeros((0, 5, 7), bool)) == []


def test_encode_mask_by_hand():
    # column-major runs: 7 background pixels, 2 foreground, 26 background
    mask = np.zeros((5, 7), bool)
    mask[2:4, 1] = True
    rle = encode_mask(mask)
    assert mask_utils.frPyObjects(dict(size=[5, 7], counts=[7, 2, 26]), 5,
                                  7)['counts'].decode() == rle['counts']


@pytest.mark.parametrize('kind', ['polygon', 'uncompressed', 'compressed'])
def test_segmentation_rle(kind):
    mask = np.zeros((6, 8), bool)
    mask[1:4, 2:6] = True
    if kind == 'polygon':
        # corners (x, y) (2, 1) and (6, 4): pixels x 2-5, y 1-3
        segm = [[2, 1, 6, 1, 6, 4, 2, 4]]
    elif kind == 'uncompressed':
        runs, pos = [], 0
        flat = mask.T.ravel()
        value = False
        while pos < flat.size:
            end = pos
            while end < flat.size and flat[end] == value:
                end += 1
            runs.append(end - pos)
            pos, value = end, not value
        segm = dict(size=[6, 8], counts=runs)
    else:
        segm = encode_mask(mask)
    rle = segmentation_rle(segm, 6, 8)
    assert isinstance(rle['counts'], bytes)
    decoded = mask_utils.decode(rle).astype(bool)
    assert (decoded == mask).all()
