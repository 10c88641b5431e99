"""Results out as files: instance-id PNGs (``--out-masks`` of the demo and
of tools/test.py) that frames2ytvis reads back, and
tools/analysis/render_results.py."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools import mask as mask_utils

from mmvis_clip.apis import init_vis_model
from mmvis_clip.datasets.converters.frames2ytvis import convert_frames_to_ytvis
from mmvis_clip.structures import (VideoFrames, VideoInfo, VideoInstance,
                                   instance_id_map, write_results_as_id_masks)
from mmvis_clip.utils.atomic_io import refuse_output_folder
from mmvis_clip.utils.user_errors import UserError
from mmvis_clip.visualization import instance_color

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')
H, W = 64, 96


def load_tool(*path):
    spec = importlib.util.spec_from_file_location(
        path[-1][:-3], osp.join(REPO, *path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


video_demo = load_tool('tools', 'demo', 'video_demo.py')
render_results = load_tool('tools', 'analysis', 'render_results.py')


def rle(mask, compressed=True):
    """The RLE of a bool mask, counts as str (or as a list)."""
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    if compressed:
        return dict(size=list(encoded['size']),
                    counts=encoded['counts'].decode('ascii'))
    flat = mask.astype(np.uint8).flatten(order='F')
    counts, value, run = [], 0, 0
    for pixel in flat:
        if pixel == value:
            run += 1
        else:
            counts.append(run)
            value, run = pixel, 1
    counts.append(run)
    return dict(size=list(mask.shape), counts=counts)


def box_mask(y0, y1, x0, x1, height=H, width=W):
    mask = np.zeros((height, width), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def decode(segmentation, height, width):
    if segmentation is None:
        return np.zeros((height, width), bool)
    if isinstance(segmentation['counts'], list):
        segmentation = mask_utils.frPyObjects(segmentation, height, width)
    return mask_utils.decode(segmentation).astype(bool)


def expected_id_masks(results, score_thr, height, width, length):
    """Per kept result (ids 1.. in file order) its masks as an id PNG
    holds them: painted lowest priority first, so that the highest score
    (then the earliest result) ends on top. Returns {id: (L, H, W)}."""
    kept = [r for r in results if r['score'] >= score_thr]
    maps = np.zeros((length, height, width), np.int64)
    order = sorted(range(len(kept)), key=lambda i: (kept[i]['score'], -i))
    for i in order:
        for f, seg in enumerate(kept[i]['segmentations']):
            maps[f][decode(seg, height, width)] = i + 1
    return {
        i + 1: maps == i + 1
        for i in range(len(kept)) if (maps == i + 1).any()
    }, kept


def round_trip(out_dir, frame_folders):
    """frames2ytvis on ``out_dir`` with the frames linked in as
    ``JPEGImages``: video folder name -> list of (category name, (L, H, W)
    masks) in annotation order."""
    os.makedirs(osp.join(out_dir, 'JPEGImages'))
    for name, folder in frame_folders.items():
        os.symlink(folder, osp.join(out_dir, 'JPEGImages', name))
    ytvis = convert_frames_to_ytvis(
        out_dir, osp.join(out_dir, 'classes.json'), show_progress=False)
    names = {c['id']: c['name'] for c in ytvis['categories']}
    by_video = {}
    for video in ytvis['videos']:
        folder = video['file_names'][0].split('/')[0]
        by_video[folder] = [
            (names[a['category_id']],
             np.stack([
                 decode(s, video['height'], video['width'])
                 for s in a['segmentations']
             ])) for a in ytvis['annotations'] if a['video_id'] == video['id']
        ]
    return by_video, ytvis


def assert_round_trip(by_video_name, results_of, classes_of, score_thr,
                      size, length):
    """The frames2ytvis json holds exactly the results above the score
    threshold (overlaps resolved by score), with their class names."""
    for name, results in results_of.items():
        expected, kept = expected_id_masks(results, score_thr, *size, length)
        got = by_video_name[name]
        assert len(got) == len(expected)
        for (class_name, masks), (inst_id, want) in zip(
                got, sorted(expected.items())):
            assert class_name == classes_of[kept[inst_id - 1]['category_id']]
            assert np.array_equal(masks, want)


# ----------------------------------------------------------------------
# the id PNG writer


def video_instance(score, masks):
    return VideoInstance(
        video_id=1,
        category_id=1,
        rles=[None if m is None else rle(m) for m in masks],
        mean_area=0.,
        score=score)


def test_overlaps_go_to_the_higher_score_then_the_earlier_result():
    a = box_mask(0, 4, 0, 4, 6, 6)
    b = box_mask(2, 6, 2, 6, 6, 6)
    c = box_mask(0, 2, 0, 6, 6, 6)  # ties with a, comes after it
    kept = [(1, video_instance(0.5, [a])), (2, video_instance(0.9, [b])),
            (3, video_instance(0.5, [c]))]
    ids = instance_id_map(kept, 0, 6, 6)
    assert ids.dtype == np.int64
    expected = np.array([[1, 1, 1, 1, 3, 3],
                         [1, 1, 1, 1, 3, 3],
                         [1, 1, 2, 2, 2, 2],
                         [1, 1, 2, 2, 2, 2],
                         [0, 0, 2, 2, 2, 2],
                         [0, 0, 2, 2, 2, 2]])
    assert np.array_equal(ids, expected)


@pytest.fixture
def frames(tmp_path):
    """Two videos of 3 frames of H x W (PNG, lossless)."""
    rng = np.random.default_rng(0)
    folders = {}
    for name in ('cat_video', 'dog_video'):
        folder = tmp_path / 'frames' / name
        folder.mkdir(parents=True)
        for f in range(3):
            cv2.imwrite(str(folder / f'{f * 5}.png'),
                        rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
        folders[name] = str(folder)
    return folders


def test_results_round_trip_through_frames2ytvis(frames, tmp_path):
    m1 = box_mask(5, 30, 5, 40)
    m2 = box_mask(20, 50, 30, 70)  # overlaps m1, scores higher
    m3 = box_mask(40, 60, 60, 90)
    hidden = box_mask(25, 28, 35, 38)  # inside m2, lower score: no pixel
    results = [
        dict(video_id=3, category_id=1, score=0.6,
             segmentations=[rle(m1), None, rle(m1, compressed=False)]),
        dict(video_id=3, category_id=2, score=0.95,
             segmentations=[rle(m2), rle(m2), None]),
        dict(video_id=3, category_id=2, score=0.1,  # below the threshold
             segmentations=[rle(m3)] * 3),
        dict(video_id=3, category_id=1, score=0.5,
             segmentations=[rle(hidden), None, None]),
        dict(video_id=8, category_id=2, score=0.4,
             segmentations=[None, rle(m3), rle(m3)]),
    ]
    videos = [
        VideoFrames(VideoInfo(3, H, W, 3), 'cat_video', ('0', '5', '10')),
        VideoFrames(VideoInfo(8, H, W, 3), 'dog_video', ('0', '5', '10')),
    ]
    categories = [dict(id=1, name='cat'), dict(id=2, name='dog')]
    out = str(tmp_path / 'masks')
    summary = write_results_as_id_masks(results, videos, categories, out,
                                        score_thr=0.3)
    assert summary == dict(videos=2, frames=6, instances=3, below_thr=1,
                           hidden=1)
    assert sorted(os.listdir(out)) == ['Annotations', 'classes.json']
    assert sorted(os.listdir(osp.join(out, 'Annotations', 'cat_video'))) \
        == ['0.png', '10.png', '5.png']
    with Image.open(osp.join(out, 'Annotations', 'cat_video', '0.png')) as im:
        assert im.mode == 'L'
        ids = np.asarray(im)
    # hand-checked pixels: m1 alone, the overlap (m2 scores higher), the
    # hidden result's pixels (m2's), the background
    assert ids[10, 10] == 1 and ids[25, 35] == 2 and ids[26, 36] == 2
    assert ids[0, 0] == 0 and ids[45, 80] == 0  # m3 is below 0.3
    with open(osp.join(out, 'classes.json')) as f:
        class_map = json.load(f)
    # id 3 (the hidden one) is in no PNG and not listed
    assert class_map == dict(
        classes=['cat', 'dog'],
        instances=dict(cat_video={'1': 'cat', '2': 'dog'},
                       dog_video={'1': 'dog'}))

    by_video, ytvis = round_trip(out, frames)
    assert [v['length'] for v in ytvis['videos']] == [3, 3]
    assert_round_trip(by_video, {
        'cat_video': [r for r in results if r['video_id'] == 3],
        'dog_video': [r for r in results if r['video_id'] == 8]
    }, {1: 'cat', 2: 'dog'}, 0.3, (H, W), 3)


def test_more_than_255_ids_make_16_bit_pngs(tmp_path):
    height, width = 20, 20
    results = []
    for i in range(300):  # one pixel each, scores all different
        mask = np.zeros((height, width), bool)
        mask.flat[i] = True
        results.append(dict(video_id=1, category_id=1, score=i / 300,
                            segmentations=[rle(mask)]))
    videos = [VideoFrames(VideoInfo(1, height, width, 1), 'v', ('f', ))]
    out = str(tmp_path / 'masks')
    write_results_as_id_masks(results, videos, [dict(id=1, name='x')], out)
    with Image.open(osp.join(out, 'Annotations', 'v', 'f.png')) as im:
        assert im.mode.startswith('I')
        ids = np.asarray(im).astype(np.int64)
    assert np.array_equal(ids.flatten()[:300], np.arange(1, 301))
    assert (ids.flatten()[300:] == 0).all()


def test_writer_refuses_results_that_do_not_fit(tmp_path):
    videos = [VideoFrames(VideoInfo(1, H, W, 2), 'v', ('a', 'b'))]
    cats = [dict(id=1, name='x')]
    mask = box_mask(0, 5, 0, 5)
    cases = [
        ([dict(video_id=2, category_id=1, score=1.,
               segmentations=[None, None])], 'results of video_id 2'),
        ([dict(video_id=1, category_id=4, score=1.,
               segmentations=[None, None])], 'unknown category_id 4'),
        ([dict(video_id=1, category_id=1, score=1.,
               segmentations=[rle(mask)])], '2 frames but 1 segmentations'),
        (dict(videos=[], annotations=[]), 'not YouTube-VIS results'),
    ]
    for i, (results, words) in enumerate(cases):
        out = str(tmp_path / f'out{i}')
        with pytest.raises(UserError, match=words):
            write_results_as_id_masks(results, videos, cats, out,
                                      name='res.json')
        assert not osp.exists(osp.join(out, 'classes.json'))


def test_refuse_output_folder(tmp_path):
    frames = tmp_path / 'frames'
    frames.mkdir()
    (frames / '0.jpg').write_bytes(b'x')
    config = tmp_path / 'cfg.py'
    config.write_text('')
    full = tmp_path / 'full'
    full.mkdir()
    (full / 'old.png').write_bytes(b'x')
    inputs = [('input frame folder', frames), ('config', config)]
    cases = [
        (frames / 'masks', 'is inside the input frame folder'),
        (frames, 'is the input frame folder'),
        (tmp_path, 'contains the input frame folder'),
        (config, 'is a file'),
        (config / 'sub', 'is a file, not a folder'),
        (full, 'already holds 1 entries (e.g. old.png)'),
        (tmp_path / 'new', 'would hold --out'),
    ]
    for folder, words in cases:
        with pytest.raises(UserError) as err:
            refuse_output_folder('--out-masks', folder, inputs,
                                 {'--out': tmp_path / 'new' / 'res'})
        assert str(err.value).startswith(f'--out-masks {folder} ')
        assert words in str(err.value)
    assert os.listdir(full) == ['old.png']
    empty = tmp_path / 'empty'
    empty.mkdir()
    refuse_output_folder('--out-masks', empty, inputs)  # new or empty: ok
    refuse_output_folder('--out-masks', tmp_path / 'absent', inputs)


# ----------------------------------------------------------------------
# render_results.py


@pytest.fixture
def gray_video(tmp_path):
    """A frame folder of 4 flat gray frames (PNG) and a results file: one
    result in frames 0-2 (bottom right), absent in frame 3."""
    folder = tmp_path / 'clip'
    folder.mkdir()
    for f in range(4):
        cv2.imwrite(str(folder / f'{f:03d}.png'),
                    np.full((H, W, 3), 100 + f, np.uint8))
    mask = box_mask(34, 58, 62, 90)
    results = [
        dict(video_id=5, category_id=2, score=0.9,
             segmentations=[rle(mask), rle(mask, compressed=False),
                            rle(mask), None]),
        dict(video_id=5, category_id=1, score=0.05,  # below --score-thr
             segmentations=[rle(box_mask(0, 10, 0, 10))] * 4),
    ]
    path = tmp_path / 'results.json'
    path.write_text(json.dumps(results))
    return dict(folder=folder, results=path, mask=mask)


def read_png_frames(folder):
    return [cv2.imread(osp.join(folder, name))
            for name in sorted(os.listdir(folder))]


def test_render_results_draws_the_masks_and_nothing_else(
        gray_video, tmp_path):
    out_pngs, out_mp4 = tmp_path / 'drawn', tmp_path / 'drawn.mp4'
    render_results.main([
        str(gray_video['folder']), str(gray_video['results']), '--out',
        str(out_mp4), '--out-pngs', str(out_pngs)
    ])
    assert sorted(os.listdir(out_pngs)) == [
        '000.png', '001.png', '002.png', '003.png'
    ]
    mask = gray_video['mask']
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3))).astype(bool)
    color = np.array(instance_color(1)[::-1], float)  # id 1, BGR
    for f, drawn in enumerate(read_png_frames(out_pngs)):
        frame = np.full((H, W, 3), 100 + f, np.uint8)
        if f == 3:  # the result is absent: the frame is untouched
            assert np.array_equal(drawn, frame)
            continue
        # every mask pixel changed, towards the colour of id 1
        assert (np.abs(drawn.astype(int) - frame).sum(-1)[mask] > 0).all()
        assert np.abs(drawn[inner].mean(0) - color).max() < \
            np.abs(frame[0, 0] - color).max()
        # nothing left of or above the box (label text starts at its top
        # left corner), nor of the 0.05 result in the top left corner
        assert np.array_equal(drawn[:, :58], frame[:, :58])
        assert np.array_equal(drawn[:30], frame[:30])

    capture = cv2.VideoCapture(str(out_mp4))
    decoded = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        decoded.append(image.astype(int))
    capture.release()
    assert len(decoded) == 4
    for f, image in enumerate(decoded):
        # mp4 is lossy (mp4v moves flat gray 100 by up to 5 levels per
        # channel): tolerance 8, away from the 16-pixel codec blocks the
        # drawing touches
        frame = np.full((H, W, 3), 100 + f)
        assert np.abs(image[:, :48] - frame[:, :48]).mean() < 8
        assert np.abs(image[:32] - frame[:32]).mean() < 8
        change = np.abs(image[inner] - frame[inner]).mean()
        # the mask alone moves gray 100 by 31 on average towards id 1's
        # colour (85, 131, 242) at alpha 0.5
        assert change > 15 if f < 3 else change < 8


def render_error(argv):
    with pytest.raises(SystemExit) as err:
        render_results.main([str(a) for a in argv])
    message = str(err.value)
    assert message.startswith('error: ') and '\n' not in message, message
    return message


def test_render_results_refuses_results_of_another_video(gray_video,
                                                         tmp_path):
    folder, path = gray_video['folder'], gray_video['results']
    out = tmp_path / 'out.mp4'

    def results_file(name, results):
        file = tmp_path / name
        file.write_text(json.dumps(results))
        return file

    longer = results_file('longer.json', [
        dict(video_id=5, category_id=1, score=1.,
             segmentations=[None] * 6)
    ])
    bigger = results_file('bigger.json', [
        dict(video_id=5, category_id=1, score=1.,
             segmentations=[None, rle(box_mask(0, 5, 0, 5, 80, W))] + [None] *
             2)
    ])
    two_videos = results_file('two.json', [
        dict(video_id=5, category_id=1, score=1., segmentations=[None] * 4),
        dict(video_id=6, category_id=1, score=1., segmentations=[None] * 4)
    ])
    coco = results_file('coco.json', [
        dict(image_id=1, category_id=1, score=1., segmentation=None)
    ])
    gt = results_file('gt.json', dict(
        videos=[dict(id=5, height=H, width=W, length=4,
                     file_names=[f'clip/{f:03d}.png' for f in range(4)])],
        annotations=[], categories=[dict(id=1, name='a'),
                                    dict(id=2, name='b')]))
    gt_short = results_file('gt_short.json', dict(
        videos=[dict(id=5, height=H, width=W, length=3,
                     file_names=[f'clip/{f:03d}.png' for f in range(3)])],
        annotations=[], categories=[dict(id=1, name='a'),
                                    dict(id=2, name='b')]))
    cases = [
        ([longer], f'{longer}: result 0 (video 5) has 6 frames '
         f'(segmentations) but {folder} has 4'),
        ([bigger], f'{bigger}: result 0 (video 5), frame 1: the mask is '
         f'80x96 (HxW) but the frames of {folder} are 64x96'),
        ([path, '--video-id', 9], f'{path}: unknown video id 9'),
        ([path, '--ann-file', gt, '--video-id', 9],
         f'{gt}: unknown video id 9'),
        ([two_videos], f'{two_videos}: the file holds results of 2 videos'),
        ([gt], f'{gt}: not YouTube-VIS results'),
        ([coco], f"{coco}: result 0: missing field 'video_id'"),
        ([path, '--ann-file', gt_short],
         f'{gt_short}: video 5 has 3 frames but {folder} has 4'),
    ]
    for argv, words in cases:
        message = render_error([folder] + argv + ['--out', out])
        assert words in message, (words, message)
        assert not out.exists()
    # the right video found by its folder name in the annotation file
    render_results.main([str(folder), str(path), '--ann-file', str(gt),
                         '--out', str(out)])
    assert out.exists()


def test_render_results_refuses_outputs_among_inputs(gray_video, tmp_path):
    folder, path = gray_video['folder'], gray_video['results']
    before = sorted(os.listdir(folder))
    message = render_error([folder, path, '--out-pngs', folder])
    assert f'--out-pngs {folder} is the input frame folder' in message
    message = render_error([folder, path, '--out', path.with_suffix('.mp4'),
                            '--out-pngs', tmp_path])
    assert f'--out-pngs {tmp_path} contains the results file' in message
    assert sorted(os.listdir(folder)) == before


# ----------------------------------------------------------------------
# video_demo.py --out-masks and tools/test.py --out-masks


@pytest.fixture(scope='module')
def data_root(make_tiny_synthetic):
    # 2 train videos, 2 valid videos of 5 frames of 64x96
    return make_tiny_synthetic(num_videos=2, num_frames=5, seed=2)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = init_vis_model(CONFIG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def synthetic_classes(data_root):
    with open(data_root + 'annotations/valid.json') as f:
        return {c['id']: c['name'] for c in json.load(f)['categories']}


def test_demo_out_masks_round_trip(data_root, checkpoint, tmp_path):
    folder = osp.join(data_root, 'valid', 'JPEGImages', 'video_0001')
    out_json, out_masks = str(tmp_path / 'res.json'), str(tmp_path / 'm')
    video_demo.main([
        folder, CONFIG, '--checkpoint', checkpoint, '--out-json', out_json,
        '--out-masks', out_masks, '--score-thr', '0'
    ])
    with open(out_json) as f:
        results = json.load(f)
    assert results  # random weights still give tracks
    assert sorted(os.listdir(osp.join(out_masks, 'Annotations',
                                      'video_0001'))) == [
        f'{f:05d}.png' for f in range(5)
    ]
    by_video, _ = round_trip(out_masks, {'video_0001': folder})
    assert_round_trip(by_video, {'video_0001': results},
                      synthetic_classes(data_root), 0.0, (H, W), 5)
    assert by_video['video_0001']  # something round-tripped


def test_demo_refuses_a_used_out_masks_folder(data_root, checkpoint,
                                              tmp_path):
    folder = osp.join(data_root, 'valid', 'JPEGImages', 'video_0001')
    used = tmp_path / 'used'
    used.mkdir()
    (used / 'mine.txt').write_text('keep')
    for target, words in [(used, 'already holds 1 entries'),
                          (osp.join(folder, 'masks'),
                           'is inside the input frame folder')]:
        with pytest.raises(SystemExit) as err:
            video_demo.main([folder, CONFIG, '--out-masks', str(target)])
        assert str(err.value).startswith(f'error: --out-masks {target} ')
        assert words in str(err.value)
    assert os.listdir(used) == ['mine.txt']
    assert not osp.exists(osp.join(folder, 'masks'))


@pytest.mark.slow
def test_test_py_out_masks_round_trip(data_root, checkpoint, tmp_path):
    out, out_masks = str(tmp_path / 'res'), str(tmp_path / 'masks')
    options = [
        '--cfg-options', f'test_dataloader.dataset.data_root={data_root}',
        f'test_evaluator.ann_file={data_root}annotations/valid.json',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    cmd = [
        sys.executable, 'tools/test.py', CONFIG, checkpoint, '--work-dir',
        str(tmp_path / 'work'), '--out', out, '--out-masks', out_masks,
        '--score-thr', '0'
    ] + options
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(osp.join(out, 'results.json')) as f:
        results = json.load(f)
    with open(data_root + 'annotations/valid.json') as f:
        gt = json.load(f)
    names = {v['id']: v['file_names'][0].split('/')[0] for v in gt['videos']}
    image_root = osp.join(data_root, 'valid', 'JPEGImages')
    by_video, _ = round_trip(out_masks, {
        name: osp.join(image_root, name) for name in names.values()
    })
    assert_round_trip(by_video, {
        name: [r for r in results if r['video_id'] == vid]
        for vid, name in names.items()
    }, synthetic_classes(data_root), 0.0, (H, W), 5)
    assert results and any(by_video.values())  # something round-tripped

    # a used folder is refused before testing, in one line
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'error: --out-masks {out_masks} already holds')
    assert 'Traceback' not in proc.stderr
