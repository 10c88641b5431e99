"""An annotated image as a clip: one frame for image-level pre-training, or
T frames made from the image by a random per-frame transform (a
pseudo-video)."""
import copy
from typing import Dict, List, Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import BaseBoxes
from mmengine.dataset import Compose


def key_frame_index(num_frames: int) -> int:
    """Position of the key frame in a clip of ``num_frames``: the centre
    ``(T - 1) // 2``, as ``ContiguousClipSample``."""
    return (num_frames - 1) // 2


@TRANSFORMS.register_module()
class ImageAsClip(BaseTransform):
    """Turn a loaded, augmented image sample into a clip of frames.

    Each instance gets an id (its index, unless the sample has
    ``gt_instances_ids``). ``num_frames=1`` gives a 1-frame video; ``T >
    1`` a pseudo-video of T copies, each through ``frame_transform`` with
    its own random draw (an instance it removes is absent from that frame
    only). Every key becomes a list over the frames, as
    ``PackTrackInputs`` takes it (boxes a float32 (n, 4) array, ids
    int32); ``key_frame_flags`` marks frame :func:`key_frame_index`. Place
    it after the image transforms and before ``PackTrackInputs``.

    Required keys: ``img``, ``img_id`` and the ground truth the model
    needs (``gt_bboxes``, ``gt_bboxes_labels``, ``gt_masks``).
    Added keys: ``gt_instances_ids``, ``frame_id``, ``key_frame_flags``.
    Modified keys: every key (per frame), ``gt_bboxes`` (an array).

    Args:
        num_frames (int): Frames per clip T. Defaults to 1.
        frame_transform (dict | list[dict], optional): Transform(s) applied
            to each frame separately; they must keep the frames the same
            size and keep ``gt_instances_ids`` in step with the other
            per-instance keys. Defaults to None (T identical frames).
    """

    def __init__(self,
                 num_frames: int = 1,
                 frame_transform: Optional[Union[dict, List[dict]]] = None):
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError('ImageAsClip: num_frames must be a positive '
                             f'int, got {num_frames!r}')
        self.num_frames = num_frames
        if isinstance(frame_transform, dict):
            frame_transform = [frame_transform]
        self.frame_transform = Compose(frame_transform) \
            if frame_transform else None

    def transform(self, results: Dict) -> Optional[Dict]:
        if 'img' not in results:
            raise KeyError('ImageAsClip needs a loaded image (put it after '
                           f'LoadImageFromFile): {results.get("img_path")}')
        num = len(results['gt_bboxes_labels']) \
            if 'gt_bboxes_labels' in results else 0
        results.setdefault('gt_instances_ids', np.arange(num, dtype=np.int32))
        frames = []
        for frame_id in range(self.num_frames):
            frame = results if self.num_frames == 1 else copy.deepcopy(
                results)
            if self.frame_transform is not None:
                frame = self.frame_transform(frame)
                if frame is None:  # a transform refused the sample
                    return None
            frame['frame_id'] = frame_id
            if isinstance(frame.get('gt_bboxes'), BaseBoxes):
                frame['gt_bboxes'] = frame['gt_bboxes'].numpy()
            frames.append(frame)
        shapes = {frame['img'].shape for frame in frames}
        assert len(shapes) == 1, f'frames of different sizes {shapes}'
        clip = {key: [frame[key] for frame in frames] for key in frames[0]}
        clip['key_frame_flags'] = [
            t == key_frame_index(self.num_frames)
            for t in range(self.num_frames)
        ]
        return clip

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'frame_transform={self.frame_transform})')
