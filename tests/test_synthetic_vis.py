"""Tests of the synthetic VIS generator."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest

from mmvis_clip.datasets.synthetic import (MIN_VISIBLE_AREA, SCENE_PRESETS,
                                           SYNTHETIC_VIS_CLASSES,
                                           SceneInstance, VideoScene,
                                           make_synthetic_vis, render_frame)
from mmvis_clip.datasets.synthetic.generator import main, video_rng
from mmvis_clip.datasets.synthetic.scene import (MAX_INSTANCES,
                                                 sample_rendered_video)
from mmvis_clip.datasets.synthetic.shapes import render_shape_mask

CANVAS = (40, 60)


def _instance(category, center, size, color=(200, 40, 40)):
    appearance = dict(
        size=size,
        color_a=np.array(color, dtype=np.uint8),
        color_b=np.array([20, 20, 220], dtype=np.uint8),
        period=4.0,
        angle=0.0,
        spin=0.0)
    return SceneInstance(category, appearance,
                         np.array([center], dtype=np.float64), 'bounce')


def _scene(*instances):
    background = np.zeros(CANVAS + (3, ), dtype=np.uint8)
    return VideoScene(CANVAS, background, list(instances))


def _full_mask(instance):
    look = instance.appearance
    return render_shape_mask(instance.category, tuple(instance.centers[0]),
                             look['size'], look['angle'], CANVAS)


def test_disc_mask_matches_the_circle_equation():
    mask = render_shape_mask('disc', (20.0, 15.0), 8.0, 0.0, CANVAS)
    ys, xs = np.mgrid[0:CANVAS[0], 0:CANVAS[1]]
    dist = np.hypot(xs - 20.0, ys - 15.0)
    assert mask[dist <= 7.0].all()
    assert not mask[dist >= 9.0].any()


def test_occluded_pixels_leave_the_back_mask():
    back = _instance('disc', (22.0, 20.0), 9.0)
    front = _instance('square', (32.0, 20.0), 9.0, color=(40, 200, 40))
    scene = _scene(back, front)  # back first, front last
    image, (back_mask, front_mask) = render_frame(scene, 0)
    back_full, front_full = _full_mask(back), _full_mask(front)
    assert (back_full & front_full).sum() > 20  # they do overlap
    np.testing.assert_array_equal(front_mask, front_full)
    np.testing.assert_array_equal(back_mask, back_full & ~front_full)
    # background pixels are untouched, object pixels carry their texture
    assert not image[~(back_full | front_full)].any()
    np.testing.assert_array_equal(image[back_mask],
                                  np.tile([200, 40, 40], (back_mask.sum(), 1)))
    front_colors = {tuple(c) for c in image[front_mask]}
    assert front_colors == {(40, 200, 40), (20, 20, 220)}  # stripes


def test_fully_hidden_outside_and_sliver_instances_are_absent():
    hidden = _instance('disc', (30.0, 20.0), 4.0)
    cover = _instance('disc', (30.0, 20.0), 10.0)
    outside = _instance('square', (-20.0, 20.0), 6.0)
    sliver = _instance('disc', (5.0, 5.0), 1.5)
    scene = _scene(hidden, cover, outside, sliver)
    image, masks = render_frame(scene, 0)
    assert masks[0] is None and masks[2] is None
    assert masks[1] is not None
    # the sliver is painted but smaller than MIN_VISIBLE_AREA: absent
    sliver_pixels = _full_mask(sliver)
    assert 0 < sliver_pixels.sum() < MIN_VISIBLE_AREA
    assert image[sliver_pixels].any()
    assert masks[3] is None


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic') / 'data')
    paths = make_synthetic_vis(
        out,
        num_videos=2,
        num_frames=4,
        size=(64, 96),
        seed=3,
        show_progress=False)
    return out, paths


def _decode(rle):
    return mask_utils.decode(
        dict(size=rle['size'], counts=rle['counts'].encode())).astype(bool)


def test_tiny_set_layout(tiny_set):
    out, paths = tiny_set
    assert sorted(os.listdir(out)) == ['annotations', 'train', 'valid']
    assert sorted(os.listdir(osp.join(out, 'annotations'))) == [
        'train.json', 'train_cocovid.json', 'valid.json', 'valid_cocovid.json'
    ]
    for split in ('train', 'valid'):  # valid: max(2, 2 // 4) = 2 videos
        root = osp.join(out, split, 'JPEGImages')
        assert sorted(os.listdir(root)) == ['video_0000', 'video_0001']
        for video in os.listdir(root):
            frames = sorted(os.listdir(osp.join(root, video)))
            assert frames == [f'{t:05d}.jpg' for t in range(4)]
            image = cv2.imread(osp.join(root, video, frames[0]))
            assert image.shape == (64, 96, 3)


@pytest.mark.parametrize('split', ['train', 'valid'])
def test_raw_annotations_are_exact_visible_masks(tiny_set, split):
    out, paths = tiny_set
    with open(paths[f'{split}_raw']) as f:
        raw = json.load(f)
    assert [c['name']
            for c in raw['categories']] == list(SYNTHETIC_VIS_CLASSES)
    assert [c['id'] for c in raw['categories']
            ] == list(range(1,
                            len(SYNTHETIC_VIS_CLASSES) + 1))
    assert len(raw['annotations']) > 0
    for video in raw['videos']:
        anns = [a for a in raw['annotations'] if a['video_id'] == video['id']]
        assert 1 <= len(anns) <= MAX_INSTANCES
        for t in range(video['length']):
            union = np.zeros((64, 96), dtype=int)
            for ann in anns:
                rle = ann['segmentations'][t]
                if rle is None:
                    assert ann['bboxes'][t] is None
                    assert ann['areas'][t] is None
                    continue
                assert isinstance(rle['counts'], str)
                mask = _decode(rle)
                ys, xs = np.nonzero(mask)
                assert ann['areas'][t] == mask.sum() >= MIN_VISIBLE_AREA
                assert ann['bboxes'][t] == [
                    xs.min(),
                    ys.min(),
                    xs.max() - xs.min() + 1,
                    ys.max() - ys.min() + 1
                ]
                union += mask
            assert union.max() <= 1  # visible masks never overlap
    for ann in raw['annotations']:
        assert len(ann['segmentations']) == 4
        assert any(s is not None for s in ann['segmentations'])


def test_cocovid_has_one_annotation_per_present_frame(tiny_set):
    out, paths = tiny_set
    with open(paths['train_raw']) as f:
        raw = json.load(f)
    with open(paths['train_cocovid']) as f:
        cocovid = json.load(f)
    present = {(a['id'], t)
               for a in raw['annotations']
               for t, s in enumerate(a['segmentations']) if s is not None}
    frame_of = {im['id']: im['frame_id'] for im in cocovid['images']}
    assert {(a['instance_id'], frame_of[a['image_id']])
            for a in cocovid['annotations']} == present
    assert len(cocovid['annotations']) == len(present)


def _file_bytes(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                found[osp.relpath(path, root)] = f.read()
    return found


def test_same_seed_gives_byte_identical_files(tiny_set, tmp_path):
    out, _ = tiny_set
    again = str(tmp_path / 'again')
    make_synthetic_vis(
        again,
        num_videos=2,
        num_frames=4,
        size=(64, 96),
        seed=3,
        show_progress=False)
    first, second = _file_bytes(out), _file_bytes(again)
    assert sorted(first) == sorted(second)
    assert all(first[name] == second[name] for name in first)
    other = str(tmp_path / 'other')
    make_synthetic_vis(
        other,
        num_videos=2,
        num_frames=4,
        size=(64, 96),
        seed=4,
        show_progress=False)
    assert _file_bytes(
        other)['annotations/train.json'] != first['annotations/train.json']


def test_non_empty_folder_needs_overwrite(tmp_path):
    out = str(tmp_path / 'data')
    make_synthetic_vis(
        out, num_videos=3, num_frames=2, size=(48, 64), show_progress=False)
    with open(osp.join(out, 'notes.txt'), 'w') as f:
        f.write('kept')
    with pytest.raises(FileExistsError, match='overwrite'):
        make_synthetic_vis(
            out,
            num_videos=2,
            num_frames=2,
            size=(48, 64),
            show_progress=False)
    with pytest.raises(SystemExit, match='not empty'):
        main(['--out', out, '--num-videos', '2', '--no-progress'])
    main([
        '--out', out, '--num-videos', '2', '--frames', '2', '--size', '48',
        '64', '--overwrite', '--no-progress'
    ])
    # the old third video is gone, unrelated files stay
    assert sorted(os.listdir(osp.join(
        out, 'train', 'JPEGImages'))) == ['video_0000', 'video_0001']
    assert osp.isfile(osp.join(out, 'notes.txt'))


def test_videos_have_the_hard_cases():
    """Over 60 default-size videos: instances enter, leave, get fully
    hidden inside the frame, come back; look-alike groups exist."""
    height, width = 128, 224
    counts = dict(enter=0, leave=0, hidden=0, back=0, lookalike_videos=0)
    categories = set()
    for index in range(60):
        scene, _, masks = sample_rendered_video(
            video_rng(0, 'train', index), 12, (height, width))
        assert 1 <= len(scene.instances) <= MAX_INSTANCES
        looks = [(i.category, i.appearance['size'],
                  tuple(i.appearance['color_a']), i.appearance['angle'])
                 for i in scene.instances]
        counts['lookalike_videos'] += len(set(looks)) < len(looks)
        for instance, track in zip(scene.instances, masks):
            categories.add(instance.category)
            present = [m is not None for m in track]
            counts['enter'] += not present[0] and any(present)
            counts['leave'] += present[0] and not present[-1]
            for t in range(1, 11):
                x, y = instance.centers[t]
                if present[t] or not any(present[:t]) or \
                        not any(present[t + 1:]):
                    continue
                counts['back'] += 1
                counts['hidden'] += 0 <= x < width and 0 <= y < height
    assert categories == set(SYNTHETIC_VIS_CLASSES)
    assert counts['lookalike_videos'] >= 10
    assert min(counts.values()) >= 5, counts


@pytest.mark.parametrize('kwargs, words', [
    (dict(size=(32, 64)), ['>= 48', '(32, 64)']),
    (dict(num_videos=0), ['num_videos (0)']),
    (dict(num_frames=0), ['num_frames (0)']),
])
def test_bad_arguments_are_refused_before_writing(tmp_path, kwargs, words):
    out = str(tmp_path / 'data')
    with pytest.raises(ValueError) as error:
        make_synthetic_vis(out, show_progress=False, **kwargs)
    assert all(word in str(error.value) for word in words)
    assert not osp.exists(out)


def test_more_valid_videos_keep_train_and_extend_valid(tmp_path):
    """--num-valid-videos: same train split, the default valid videos are
    the first ones of a larger valid split (a bigger held-out set for the
    same training data)."""
    small, large = str(tmp_path / 'small'), str(tmp_path / 'large')
    common = ['--num-videos', '4', '--frames', '2', '--size', '48', '64',
              '--no-progress']
    main(['--out', small] + common)  # valid: max(2, 4 // 4) = 2 videos
    main(['--out', large, '--num-valid-videos', '3'] + common)
    for split, count in (('train', 4), ('valid', 3)):
        with open(osp.join(small, 'annotations', f'{split}.json')) as f:
            small_json = json.load(f)
        with open(osp.join(large, 'annotations', f'{split}.json')) as f:
            large_json = json.load(f)
        assert len(large_json['videos']) == count
        shared = len(small_json['videos'])
        assert shared == (4 if split == 'train' else 2)
        assert large_json['videos'][:shared] == small_json['videos']
        small_anns = small_json['annotations']
        assert large_json['annotations'][:len(small_anns)] == small_anns
        for video in small_json['videos']:
            for name in video['file_names']:
                with open(osp.join(small, split, 'JPEGImages', name),
                          'rb') as f1, open(
                              osp.join(large, split, 'JPEGImages', name),
                              'rb') as f2:
                    assert f1.read() == f2.read()
    with pytest.raises(SystemExit):
        main(['--out', str(tmp_path / 'bad'), '--num-valid-videos', '0'] +
             common)
    assert not osp.exists(tmp_path / 'bad')


@pytest.mark.parametrize('flags, message', [
    (['--num-videos', '0'], '--num-videos must be >= 1, got 0'),
    (['--num-valid-videos', '0'], '--num-valid-videos must be >= 1, got 0'),
    (['--frames', '-2'], '--frames must be >= 1, got -2'),
    (['--seed', '-1'], '--seed must be >= 0, got -1'),
    (['--size', '32', '64'], '--size H W: each must be >= 48, got 32 64'),
])
def test_bad_flags_are_named_as_flags(tmp_path, capsys, flags, message):
    """The command line names its flags, not make_synthetic_vis's
    parameters (``num_videos``)."""
    out = str(tmp_path / 'bad')
    with pytest.raises(SystemExit) as info:
        main(['--out', out, '--no-progress'] + flags)
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        f'error: {message}')
    assert not osp.exists(out)


def test_bad_flag_in_a_real_process(tmp_path):
    import subprocess
    import sys
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, 'tools/misc/make_synthetic_vis.py', '--out',
         str(tmp_path / 'x'), '--num-videos', '0'],
        cwd=repo, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        'make_synthetic_vis.py: error: --num-videos must be >= 1, got 0')
    assert not osp.exists(tmp_path / 'x')


# sha256 of annotations/train.json and valid.json of
# make_synthetic_vis(num_videos=4, num_frames=6, size=(64, 96), seed=5)
# written before scene presets existed: the default preset keeps the bytes
DEFAULT_PRESET_DIGESTS = {
    'train.json':
    'd9bfc804f7cd5f4a723cb4496445518ff4a7ae33d74c9ef33e2c137008c90aae',
    'valid.json':
    '5200f98c5b16035691a88ccfb0c607cb0d5df5bef8adb0bd0da1a81a6b941a16',
}


def test_default_preset_keeps_the_dataset_bytes(tmp_path):
    import hashlib
    out = str(tmp_path / 'data')
    make_synthetic_vis(
        out,
        num_videos=4,
        num_frames=6,
        size=(64, 96),
        seed=5,
        show_progress=False,
        preset='default')
    for name, digest in DEFAULT_PRESET_DIGESTS.items():
        with open(osp.join(out, 'annotations', name), 'rb') as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name


def _lookalike_groups(scene):
    groups = {}
    for instance in scene.instances:
        look = instance.appearance
        key = (instance.category, look['size'], tuple(look['color_a']),
               look['angle'])
        groups.setdefault(key, []).append(instance)
    return [group for group in groups.values() if len(group) > 1]


def test_association_preset_crosses_lookalikes():
    """Every association scene has 3+ instances and a look-alike group of
    2-4 whose paths meet: in one frame all its centres lie within
    sqrt(2) radii of one another (each within half a radius of one point),
    where they occlude one another."""
    preset = SCENE_PRESETS['association']
    assert preset.num_frames == 24
    occluded = 0
    for index in range(30):
        scene, _, masks = sample_rendered_video(
            video_rng(0, 'valid', index), preset.num_frames, (128, 224),
            preset=preset)
        assert 3 <= len(scene.instances) <= MAX_INSTANCES
        groups = _lookalike_groups(scene)
        assert len(groups) == 1 and 2 <= len(groups[0]) <= 4
        group = groups[0]
        crossing = [i for i in group if i.motion == 'cross_lookalike']
        # the back-most instance may pass behind the occluder instead
        assert len(crossing) >= len(group) - 1
        if len(crossing) < 2:
            continue
        centers = np.stack([i.centers for i in crossing])  # (G, L, 2)
        spread = np.linalg.norm(
            centers[:, None] - centers[None], axis=-1).max(axis=(0, 1))
        size = crossing[0].appearance['size']
        middle = np.arange(preset.num_frames // 4,
                           3 * preset.num_frames // 4)
        meet = int(middle[spread[middle].argmin()])
        assert spread[meet] <= np.sqrt(2) * size + 1e-9
        # at the meeting frame some look-alike lost pixels to another one
        rows = [k for k, i in enumerate(scene.instances)
                if any(i is c for c in crossing)]
        for row in rows:
            x, y = scene.instances[row].centers[meet]
            full = render_shape_mask(
                scene.instances[row].category, (x, y), size,
                scene.instances[row].appearance['angle'] +
                scene.instances[row].appearance['spin'] * meet, (128, 224))
            mask = masks[row][meet]
            visible = 0 if mask is None else mask.sum()
            if 0 < full.sum() and visible < full.sum():
                occluded += 1
                break
    assert occluded >= 20


def test_association_preset_files_say_so(tmp_path):
    out = str(tmp_path / 'data')
    main(['--out', out, '--preset', 'association', '--num-videos', '2',
          '--size', '64', '96', '--no-progress'])
    with open(osp.join(out, 'annotations', 'valid.json')) as f:
        raw = json.load(f)
    assert raw['info']['preset'] == 'association'
    assert raw['info']['num_frames'] == 24
    assert all(video['length'] == 24 for video in raw['videos'])
    with pytest.raises(ValueError, match="unknown preset 'hard'"):
        make_synthetic_vis(str(tmp_path / 'x'), preset='hard',
                           show_progress=False)


@pytest.mark.parametrize('mode', ['bounce', 'excursion', 'drift', 'cross'])
def test_time_scale_slows_a_path_around_its_middle_frame(mode):
    from mmvis_clip.datasets.synthetic.motion import sample_trajectory
    canvas, size, frames = (120, 200), 12.0, 13  # middle frame 6
    full = sample_trajectory(
        np.random.default_rng(3), mode, frames, canvas, size, 1.0)
    # the same random numbers, at scale 1 exactly the path without it
    np.testing.assert_array_equal(
        full,
        sample_trajectory(np.random.default_rng(3), mode, frames, canvas,
                          size))
    # at scale 1/3, frame 6 + 3k is where the full path is at 6 + k
    slow = sample_trajectory(
        np.random.default_rng(3), mode, frames, canvas, size, 1 / 3)
    for k in (-2, -1, 0, 1, 2):
        np.testing.assert_allclose(slow[6 + 3 * k], full[6 + k], atol=1e-9)


def test_pass_through_at_its_point_in_its_frame_at_any_speed():
    from mmvis_clip.datasets.synthetic.motion import sample_pass_through
    point = np.array([30., 40.])
    full = sample_pass_through(np.random.default_rng(0), point, 4, 9)
    slow = sample_pass_through(np.random.default_rng(0), point, 4, 9, 0.25)
    np.testing.assert_array_equal(full[4], point)
    np.testing.assert_array_equal(slow[4], point)
    # a quarter of the step per frame, on the same line
    np.testing.assert_allclose(slow[8] - point, (full[5] - point), atol=1e-9)


def test_slow_preset_scales_spins_and_lookalikes_share_one_look():
    from mmvis_clip.datasets.synthetic.scene import sample_scene
    slow, default = SCENE_PRESETS['slow'], SCENE_PRESETS['default']
    assert slow.time_scale == pytest.approx(1 / 3)
    seen_group = False
    for seed in range(12):
        a = sample_scene(np.random.default_rng(seed), 12, (80, 120), default)
        b = sample_scene(np.random.default_rng(seed), 12, (80, 120), slow)
        assert len(a.instances) == len(b.instances)
        for x, y in zip(a.instances, b.instances):
            assert y.appearance['spin'] == pytest.approx(
                x.appearance['spin'] / 3)
            assert y.appearance['size'] == x.appearance['size']
        for group in _lookalike_groups(b):
            seen_group = True
            assert all(inst.appearance is group[0].appearance
                       for inst in group)
    assert seen_group
