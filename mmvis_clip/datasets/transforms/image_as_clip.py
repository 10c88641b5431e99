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
    (``(T - 1) // 2``, the key frame of ``ContiguousClipSample``; the
    first of an STC (key, reference) pair)."""
    return (num_frames - 1) // 2


@TRANSFORMS.register_module()
class ImageAsClip(BaseTransform):
    """Turn a loaded, augmented image sample into a clip of frames.

    Each instance gets its own instance id (its index in the image,
    ``gt_instances_ids``, unless the sample has ids already). With
    ``num_frames=1`` (the default) the image becomes frame 0 of a 1-frame
    video, for video models that train on clips (e.g. CiCo with T = 1 and
    2D heads, the image-level pre-training of the Swin-T configs). With
    ``num_frames=T > 1`` it becomes a pseudo-video: T copies of the sample,
    each passed through ``frame_transform`` with its own random draw (e.g.
    a mild :class:`MaskRandomAffine`), so that the instances move a little
    from frame to frame and keep their ids; an instance that the frame
    transform removes from a frame (it left the frame) is absent from that
    frame only, as in a video.

    Every key of the sample becomes a list over the frames, the layout of
    mmdet's frame samplers and ``TransformBroadcaster`` that
    ``PackTrackInputs`` packs, with the types ``LoadTrackAnnotations``
    gives (boxes a float32 array (n, 4), box structures such as
    ``HorizontalBoxes`` converted; ids int32). ``frame_id`` is the frame's
    index 0..T-1 and ``key_frame_flags`` marks frame
    :func:`key_frame_index` (the centre of a CiCo clip, as
    ``ContiguousClipSample``; the key frame of an STC (key, reference)
    pair with T = 2).

    Place it after the image transforms (``LoadImageFromFile``,
    ``LoadAnnotations``, ``Resize``, ``RandomFlip``) and before
    ``PackTrackInputs``.

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
