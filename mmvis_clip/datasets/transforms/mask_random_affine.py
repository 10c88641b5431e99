"""mmdet's ``RandomAffine`` for instance masks: warps the masks with the
image, recomputes the boxes from the warped masks and drops the instances
that leave the frame."""
from typing import Dict

import cv2
import numpy as np
from mmdet.datasets.transforms import RandomAffine
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type
from mmdet.structures.mask import BitmapMasks, PolygonMasks

#: Per-instance keys kept in step when instances are dropped.
INSTANCE_KEYS = ('gt_bboxes', 'gt_masks', 'gt_bboxes_labels',
                 'gt_ignore_flags', 'gt_instances_ids')


@TRANSFORMS.register_module()
class MaskRandomAffine(RandomAffine):
    """Random affine transform of an image, its instance masks and boxes.

    The matrix is drawn as in mmdet's ``RandomAffine`` but rotation, scale
    and shear are about the image centre (scale > 1 crops). Masks are
    warped (nearest neighbour), boxes recomputed from them, and an
    instance whose mask leaves the frame is removed from every
    per-instance key (:data:`INSTANCE_KEYS`). The output is the input size
    plus ``2 * border``.

    Required keys: ``img``, ``gt_bboxes``, ``gt_masks`` (``BitmapMasks``,
    or ``PolygonMasks``, rasterised first), ``gt_bboxes_labels``,
    ``gt_ignore_flags``; ``gt_instances_ids`` optional.
    Modified keys: ``img``, ``img_shape`` and the per-instance keys.
    Added keys: ``homography_matrix`` (3 x 3, input to output, composed
    with an earlier one as mmdet's ``Resize`` does).

    Args:
        max_rotate_degree (float): Maximum rotation in degrees. Defaults
            to 5.
        max_translate_ratio (float): Maximum translation as a fraction of
            the width / height. Defaults to 0.05.
        scaling_ratio_range (tuple[float, float]): Range of the scale.
            Defaults to (0.9, 1.2).
        max_shear_degree (float): Maximum shear in degrees. Defaults to 2.
        border (tuple[int, int]): ``RandomAffine``'s border (x, y).
            Defaults to (0, 0).
        border_val (tuple[int, int, int]): Fill value of the image outside
            the source. Defaults to (114, 114, 114).
    """

    def __init__(self,
                 max_rotate_degree: float = 5.0,
                 max_translate_ratio: float = 0.05,
                 scaling_ratio_range: tuple = (0.9, 1.2),
                 max_shear_degree: float = 2.0,
                 border: tuple = (0, 0),
                 border_val: tuple = (114, 114, 114)) -> None:
        super().__init__(
            max_rotate_degree=max_rotate_degree,
            max_translate_ratio=max_translate_ratio,
            scaling_ratio_range=scaling_ratio_range,
            max_shear_degree=max_shear_degree,
            border=border,
            border_val=border_val,
            bbox_clip_border=True)

    def centred_matrix(self, height: int, width: int) -> np.ndarray:
        """A random matrix of ``RandomAffine`` with its rotation, scaling
        and shear about the centre of a ``height`` x ``width`` image.

        Returns:
            np.ndarray: (3, 3) float32.
        """
        matrix = self._get_random_homography_matrix(height, width)
        centre = self._get_translation_matrix(width / 2, height / 2)
        back = self._get_translation_matrix(-width / 2, -height / 2)
        return (centre @ matrix @ back).astype(np.float32)

    @autocast_box_type()
    def transform(self, results: Dict) -> Dict:
        img = results['img']
        height = img.shape[0] + self.border[1] * 2
        width = img.shape[1] + self.border[0] * 2
        matrix = self.centred_matrix(height, width)
        # ``matrix`` maps pixel areas (pixel (i, j) covers [j, j + 1) x
        # [i, i + 1), as the matrices of mmdet's Resize and RandomFlip and
        # the boxes do); OpenCV puts pixel centres at integer coordinates
        pixel_matrix = self._get_translation_matrix(-.5, -.5) @ matrix @ \
            self._get_translation_matrix(.5, .5)
        results['img'] = cv2.warpPerspective(
            img,
            pixel_matrix,
            dsize=(width, height),
            borderValue=self.border_val)
        results['img_shape'] = results['img'].shape[:2]
        previous = results.get('homography_matrix')
        results['homography_matrix'] = matrix if previous is None else \
            (matrix @ previous).astype(np.float32)

        masks = results['gt_masks']
        if isinstance(masks, PolygonMasks):
            masks = BitmapMasks(masks.to_ndarray(), masks.height, masks.width)
        assert isinstance(masks, BitmapMasks), type(masks)
        warped = np.stack([
            cv2.warpPerspective(
                mask,
                pixel_matrix,
                dsize=(width, height),
                flags=cv2.INTER_NEAREST,
                borderValue=0) for mask in masks.masks
        ]) if len(masks) else np.zeros((0, height, width), np.uint8)
        masks = BitmapMasks(warped, height, width)
        keep = warped.reshape(len(warped), -1).any(axis=1)
        bbox_type = type(results['gt_bboxes'])
        results['gt_masks'] = masks[keep]
        results['gt_bboxes'] = results['gt_masks'].get_bboxes(bbox_type)
        for key in INSTANCE_KEYS[2:]:
            if key in results:
                results[key] = results[key][keep]
        return results

    def __repr__(self) -> str:
        return super().__repr__().replace('RandomAffine',
                                          type(self).__name__, 1)
