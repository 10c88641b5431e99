"""Hand-drawn frames with boxes, masks and ids, for model tests."""
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

#: Network-input frame size; the original size is twice it.
H, W = 64, 96


def draw(boxes, colours):
    """A (3, H, W) uint8 frame with filled boxes on a dark background."""
    img = np.full((3, H, W), 30, dtype=np.uint8)
    for (x1, y1, x2, y2), colour in zip(boxes, colours):
        img[:, y1:y2, x1:x2] = np.array(colour, dtype=np.uint8)[:, None, None]
    return img


def frame_sample(boxes, labels, ids, frame_id, video):
    """A DetDataSample whose ground truth is the boxes and their masks."""
    masks = np.zeros((len(boxes), H, W), dtype=np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        masks[i, y1:y2, x1:x2] = 1
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(H, W),
            ori_shape=(2 * H, 2 * W),
            scale_factor=(0.5, 0.5),
            frame_id=frame_id,
            img_path=f'{video}/{frame_id:05d}.jpg'))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.tensor(labels, dtype=torch.long),
        masks=BitmapMasks(masks, H, W),
        instances_ids=torch.tensor(ids, dtype=torch.long))
    return sample
