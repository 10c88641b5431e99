"""An annotated image as a 1-frame clip, for image-level pre-training."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

#: Keys of a detection sample that ``PackTrackInputs`` reads per frame.
PER_FRAME_KEYS = ('img', 'img_id', 'img_path', 'ori_shape', 'img_shape',
                  'scale_factor', 'flip', 'flip_direction', 'frame_id',
                  'gt_bboxes', 'gt_bboxes_labels', 'gt_masks',
                  'gt_ignore_flags', 'gt_instances_ids')


@TRANSFORMS.register_module()
class ImageAsClip(BaseTransform):
    """Turn a loaded, augmented image sample into a clip of one frame.

    Video models that train on clips (e.g. CiCo with T = 1 and 2D heads,
    the image-level pre-training of the Swin-T configs) can then train on
    image datasets such as COCO: each instance gets its own instance id
    (its index in the image, ``gt_instances_ids``), the image becomes
    frame 0 of a 1-frame video, and every per-frame key is wrapped in a
    list, the layout ``PackTrackInputs`` packs.

    Place it after the image transforms (``LoadImageFromFile``,
    ``LoadAnnotations``, ``Resize``, ``RandomFlip``) and before
    ``PackTrackInputs``.

    Required keys: ``img``, ``img_id`` and the ground truth the model
    needs (``gt_bboxes``, ``gt_bboxes_labels``, ``gt_masks``).
    Added keys: ``gt_instances_ids``, ``frame_id``, ``key_frame_flags``.
    """

    def transform(self, results: Dict) -> Dict:
        if 'img' not in results:
            raise KeyError('ImageAsClip needs a loaded image (put it after '
                           f'LoadImageFromFile): {results.get("img_path")}')
        num = len(results['gt_bboxes_labels']) \
            if 'gt_bboxes_labels' in results else 0
        results.setdefault('gt_instances_ids', np.arange(num, dtype=np.int64))
        results.setdefault('frame_id', 0)
        for key in PER_FRAME_KEYS:
            if key in results:
                results[key] = [results[key]]
        results['key_frame_flags'] = [True]
        return results
