"""ContiguousClipSample (CiCo) and key + reference sampling (STC)."""
import random

import cv2
import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

import mmvis_clip  # noqa: F401
from mmvis_clip.datasets.transforms import ContiguousClipSample


def _video(length, video_id=7):
    return dict(
        video_id=video_id,
        video_length=length,
        images=[dict(frame_id=i, img_path=f'f{i}.jpg', instances=[])
                for i in range(length)])


@pytest.mark.parametrize('num_frames,length,key,expected', [
    (3, 10, 5, [4, 5, 6]),
    (3, 10, 0, [0, 0, 1]),   # left edge repeated
    (3, 10, 9, [8, 9, 9]),   # right edge repeated
    (5, 3, 1, [0, 0, 1, 2, 2]),  # video shorter than the clip
    (4, 10, 5, [4, 5, 6, 7]),  # even T: key is the (T-1)//2-th frame
    (1, 4, 2, [2]),
])
def test_clip_frames_around_key(num_frames, length, key, expected):
    video = _video(length)
    video['key_frame_id'] = key
    out = ContiguousClipSample(num_frames=num_frames).transform(video)
    assert out['frame_id'] == expected
    assert out['img_path'] == [f'f{i}.jpg' for i in expected]
    assert sum(out['key_frame_flags']) == 1
    assert out['frame_id'][out['key_frame_flags'].index(True)] == key
    assert out['video_length'] == [num_frames] * num_frames
    assert out['ori_video_length'] == [length] * num_frames
    assert out['video_id'] == [7] * num_frames


def test_repeated_edge_frames_are_independent_copies():
    video = _video(2)
    video['key_frame_id'] = 0
    out = ContiguousClipSample(num_frames=3).transform(video)
    assert out['frame_id'] == [0, 0, 1]
    assert out['instances'][0] is not out['instances'][1]
    # the dataset's own frame dicts are not modified
    assert 'video_id' not in video['images'][0]


def test_random_key_frame_gives_contiguous_clips():
    sampler = ContiguousClipSample(num_frames=3)
    random.seed(0)
    seen = set()
    for _ in range(200):
        ids = sampler.transform(_video(6))['frame_id']
        seen.add(tuple(ids))
        assert all(0 <= b - a <= 1 for a, b in zip(ids, ids[1:]))
    assert seen == {(0, 0, 1), (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5),
                    (4, 5, 5)}


def test_test_mode_is_deterministic():
    sampler = ContiguousClipSample(num_frames=3, test_mode=True)
    outs = {tuple(sampler.transform(_video(9))['frame_id'])
            for _ in range(20)}
    assert outs == {(3, 4, 5)}


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_frames'):
        ContiguousClipSample(num_frames=0)
    video = _video(4)
    video['key_frame_id'] = 4
    with pytest.raises(ValueError, match='outside a video of 4 frames'):
        ContiguousClipSample(num_frames=3).transform(video)


def _write_frames(tmp_path, length, h=8, w=12):
    paths = []
    for i in range(length):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, :w // 3] = 50 + 10 * i  # left third marks the orientation
        path = str(tmp_path / f'{i}.png')
        cv2.imwrite(path, img)
        paths.append(path)
    return paths


@pytest.mark.parametrize('sampler', [
    dict(type='ContiguousClipSample', num_frames=3),
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=2,
         filter_key_img=True),
])
def test_all_frames_of_a_sample_share_the_augmentation(tmp_path, sampler):
    init_default_scope('mmdet')
    paths = _write_frames(tmp_path, 6)
    video = dict(video_id=1, video_length=6,
                 images=[dict(frame_id=i, img_path=p, instances=[])
                         for i, p in enumerate(paths)])
    pipeline = Compose([
        sampler,
        dict(type='TransformBroadcaster', share_random_params=True,
             transforms=[
                 dict(type='LoadImageFromFile'),
                 dict(type='RandomFlip', prob=0.5),
             ]),
    ])
    random.seed(1)
    np.random.seed(1)
    flips = []
    for _ in range(30):
        out = pipeline(dict(video, images=[dict(d) for d in video['images']]))
        flags = out['flip']
        assert len(set(flags)) == 1
        for img, flip in zip(out['img'], flags):
            # flipped frames have their marked third on the right
            assert (img[0, -1, 0] > 0) == flip and (img[0, 0, 0] > 0) != flip
        flips.append(flags[0])
    assert any(flips) and not all(flips)


def test_key_and_reference_sampling_neighbourhood():
    """STC: mmdet's UniformRefFrameSample draws the reference frame from
    [key - r, key + r] on both sides, never the key frame itself."""
    from mmdet.datasets.transforms import UniformRefFrameSample
    sampler = UniformRefFrameSample(num_ref_imgs=1, frame_range=2,
                                    filter_key_img=True)
    random.seed(0)
    offsets = set()
    for _ in range(300):
        video = _video(20)
        video['key_frame_id'] = 10
        out = sampler.transform(video)
        ref = [f for f, k in zip(out['frame_id'], out['key_frame_flags'])
               if not k]
        offsets.add(ref[0] - 10)
    assert offsets == {-2, -1, 1, 2}
