"""The tracked instances of one frame, as NumPy arrays."""
from dataclasses import dataclass
from typing import Tuple

import numpy as np


def as_numpy(value) -> np.ndarray:
    """``value`` as a NumPy array: a torch tensor (any device; bfloat16,
    which NumPy lacks, as float32), mmdet's box or mask structures, or
    anything ``np.asarray`` takes. Imports no torch."""
    if hasattr(value, 'tensor'):  # mmdet's box types
        value = value.tensor
    if hasattr(value, 'to_ndarray'):  # mmdet's mask types
        return value.to_ndarray()
    if hasattr(value, 'detach'):  # a tensor
        value = value.detach().cpu()
        if str(value.dtype) == 'torch.bfloat16':
            value = value.float()
        return value.numpy()
    return np.asarray(value)


@dataclass
class FrameResult:
    """Tracked instances of one frame at the frame's original resolution.

    Attributes:
        frame_index (int): Index of the frame in the stream (from 0).
        masks (np.ndarray): (n, H, W) bool.
        bboxes (np.ndarray): (n, 4) float32, (x1, y1, x2, y2) in pixels.
        labels (np.ndarray): (n, ) int64 class indices.
        scores (np.ndarray): (n, ) float32.
        instances_id (np.ndarray): (n, ) int64 track ids.
    """

    frame_index: int
    masks: np.ndarray
    bboxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    instances_id: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_instances(cls, frame_index: int, instances,
                       frame_shape: Tuple[int, int]) -> 'FrameResult':
        """Convert a model's ``pred_track_instances`` of one frame.

        Args:
            frame_index (int): Index of the frame in the stream.
            instances (InstanceData): With ``masks`` (n, H, W), ``bboxes``
                (n, 4), ``labels``, ``scores`` and ``instances_id`` (n, ).
            frame_shape (tuple[int, int]): (H, W) of the original frame.

        Raises:
            KeyError: If a field is missing.
            ValueError: If the masks are not at the frame's resolution or
                the fields disagree in length.
        """
        for field in ('masks', 'bboxes', 'labels', 'scores', 'instances_id'):
            if field not in instances:
                raise KeyError(f'frame {frame_index}: the model output '
                               f'(pred_track_instances) has no {field!r}')
        height, width = (int(s) for s in frame_shape)
        num = len(instances.labels)
        masks = as_numpy(instances.masks)
        if num == 0:
            masks = np.zeros((0, height, width), dtype=bool)
        elif masks.shape != (num, height, width):
            raise ValueError(
                f'frame {frame_index}: masks of shape {masks.shape}, '
                f'expected ({num}, {height}, {width}) (original frame '
                'resolution; predict with rescale=True)')
        result = cls(
            frame_index=int(frame_index),
            masks=masks.astype(bool, copy=False),
            bboxes=as_numpy(instances.bboxes).astype(
                np.float32, copy=False).reshape(-1, 4),
            labels=as_numpy(instances.labels).astype(np.int64, copy=False),
            scores=as_numpy(instances.scores).astype(
                np.float32, copy=False),
            instances_id=as_numpy(instances.instances_id).astype(
                np.int64, copy=False))
        lengths = {
            name: len(getattr(result, name))
            for name in ('bboxes', 'scores', 'instances_id')
        }
        if any(length != num for length in lengths.values()):
            raise ValueError(f'frame {frame_index}: {num} labels but '
                             f'{lengths} in the model output')
        return result

    def to_instance_data(self):
        """The result as an mmengine ``InstanceData`` of CPU tensors."""
        import torch
        from mmengine.structures import InstanceData
        return InstanceData(
            masks=torch.from_numpy(self.masks),
            bboxes=torch.from_numpy(self.bboxes),
            labels=torch.from_numpy(self.labels),
            scores=torch.from_numpy(self.scores),
            instances_id=torch.from_numpy(self.instances_id))
