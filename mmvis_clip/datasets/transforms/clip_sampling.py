"""Sampling of T consecutive frames (a clip) from a video for clip models."""
import copy
import random
from typing import Dict, List, Optional

from mmdet.datasets.transforms import BaseFrameSample
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ContiguousClipSample(BaseFrameSample):
    """Sample ``num_frames`` consecutive frames around a key frame.

    The clip is ``[key - (T - 1) // 2, ..., key + T // 2]``, indices
    clamped to the video (edge frames repeat), always T frames in order.
    The key frame is ``video_infos['key_frame_id']`` when the sampler gives
    one, else random in training and the middle frame in test mode.

    Args:
        num_frames (int): clip length T. The CiCo configs leave it out:
            ``tools/train.py`` sets it to ``model.num_frames``
            (:func:`~mmvis_clip.engine.clip_length.apply_clip_length`).
        test_mode (bool): never draw random numbers. Defaults to False.
        collect_video_keys (list[str]): video-level keys copied into every
            frame (see mmdet's ``BaseFrameSample``).

    Returns (from :meth:`transform`): per-frame lists of length T, plus
    ``key_frame_flags`` (T bools, True at the key frame's first position);
    ``frame_id`` is the index in the video.
    """

    def __init__(self,
                 num_frames: Optional[int] = None,
                 test_mode: bool = False,
                 collect_video_keys: List[str] = ['video_id',
                                                  'video_length']):
        if num_frames is None:
            raise ValueError(
                'ContiguousClipSample: num_frames is not set; it follows '
                'model.num_frames when the config goes through tools/'
                'train.py (mmvis_clip.engine.clip_length.apply_clip_length);'
                ' a runner built otherwise sets it in the pipeline')
        if not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError('ContiguousClipSample: num_frames must be a '
                             f'positive int, got {num_frames!r}')
        self.num_frames = num_frames
        self.test_mode = test_mode
        super().__init__(collect_video_keys=collect_video_keys)

    def clip_frame_ids(self, video_length: int,
                       key_frame_id: int) -> List[int]:
        """Frame indices of the clip around ``key_frame_id`` (clamped)."""
        if not 0 <= key_frame_id < video_length:
            raise ValueError(
                f'ContiguousClipSample: key frame {key_frame_id} is outside '
                f'a video of {video_length} frames')
        start = key_frame_id - (self.num_frames - 1) // 2
        return [
            min(max(start + i, 0), video_length - 1)
            for i in range(self.num_frames)
        ]

    def transform(self, video_infos: dict) -> Optional[Dict[str, List]]:
        video_length = video_infos['video_length']
        if 'key_frame_id' in video_infos:
            key_frame_id = video_infos['key_frame_id']
        elif self.test_mode:
            key_frame_id = video_length // 2
        else:
            key_frame_id = random.randrange(video_length)
        frame_ids = self.clip_frame_ids(video_length, key_frame_id)
        # Repeated edge frames must not share mutable per-frame dicts.
        frames = copy.copy(video_infos)
        frames['images'] = [
            copy.deepcopy(video_infos['images'][i]) for i in frame_ids
        ]
        results = self.prepare_data(frames, list(range(self.num_frames)))
        flags = [False] * self.num_frames
        flags[frame_ids.index(key_frame_id)] = True
        results['key_frame_flags'] = flags
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'test_mode={self.test_mode}, '
                f'collect_video_keys={self.collect_video_keys})')
