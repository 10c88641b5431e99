"""tools/analysis/browse_dataset.py on a tiny synthetic dataset."""
import importlib.util
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils

from mmvis_clip.visualization import VideoRenderer, instance_color

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')

spec = importlib.util.spec_from_file_location(
    'browse_dataset', osp.join(REPO, 'tools', 'analysis',
                               'browse_dataset.py'))
browse_dataset = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browse_dataset)


@pytest.fixture(scope='module')
def data_root(make_tiny_synthetic):
    # 2 train videos, 2 valid videos of 6 frames of 64x96
    return make_tiny_synthetic(num_videos=2, num_frames=6, seed=4)


def options(data_root):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}'
    ]


def read_video(path):
    capture = cv2.VideoCapture(path)
    assert capture.isOpened(), path
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    return frames


def annotated_frames(cocovid_json, video_name):
    """Frames of a video with at least one instance (training skips the
    others)."""
    with open(cocovid_json) as f:
        data = json.load(f)
    video_id = next(v['id'] for v in data['videos']
                    if v['name'] == video_name)
    image_ids = {a['image_id'] for a in data['annotations']}
    return sum(1 for img in data['images']
               if img['video_id'] == video_id and img['id'] in image_ids)


def test_train_phase(data_root, tmp_path):
    out = str(tmp_path / 'train')
    written = browse_dataset.main(
        [CONFIG, '--output-dir', out, '--max-videos', '2'] +
        options(data_root))
    assert [osp.basename(p) for p, _ in written] == [
        'video_0000.mp4', 'video_0001.mp4'
    ]
    for path, num in written:
        frames = read_video(path)
        name = osp.splitext(osp.basename(path))[0]
        expected = annotated_frames(
            data_root + 'annotations/train_cocovid.json', name)
        assert len(frames) == num == expected
        # 64x96 frames resized (keep ratio) into 224x128: 128x192; key and
        # reference side by side, under a caption bar
        assert frames[0].shape == (128 + browse_dataset.CAPTION_HEIGHT,
                                   2 * 192, 3)


def test_test_phase(data_root, tmp_path):
    out = str(tmp_path / 'test')
    written = browse_dataset.main(
        [CONFIG, '--output-dir', out, '--max-videos', '1', '--phase',
         'test'] + options(data_root))
    assert len(written) == 1
    frames = read_video(written[0][0])
    assert len(frames) == 6  # the whole video, one panel per frame
    assert frames[0].shape == (128 + browse_dataset.CAPTION_HEIGHT, 192, 3)


def test_ground_truth_drawn_in_id_colours(data_root):
    cfg = Config.fromfile(CONFIG)
    cfg.test_dataloader.dataset.data_root = data_root
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    item = dataset.prepare_data(0)
    panels = browse_dataset.draw_frames(item, VideoRenderer(score_thr=0.5))
    assert len(panels) == 6
    frame = item['data_samples'].video_data_samples[0]
    raw = item['inputs'][0].permute(1, 2, 0).numpy()
    drawn = panels[0][browse_dataset.CAPTION_HEIGHT:]
    gt = browse_dataset.gt_instances_of(frame, raw.shape[:2])
    # test pipelines load ground truth at the original size: scaled by 2
    assert gt.masks.shape[1:] == (128, 192)
    assert frame.gt_instances.masks.height == 64
    checked = 0
    for mask, track_id in zip(gt.masks, gt.instances_id.tolist()):
        inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5)))
        if inner.sum() < 20:
            continue
        checked += 1
        color = np.array(instance_color(track_id)[::-1], float)
        raw_px = raw[inner > 0].astype(float).mean(0)
        drawn_px = drawn[inner > 0].astype(float).mean(0)
        assert np.linalg.norm(drawn_px - color) < np.linalg.norm(raw_px -
                                                                 color)
    assert checked >= 1


def run_browse(*argv):
    tool = osp.join(REPO, 'tools', 'analysis', 'browse_dataset.py')
    return subprocess.run([sys.executable, tool] + [str(a) for a in argv],
                          cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_mask_of_another_size_names_the_video(data_root, tmp_path):
    """A CocoVID json not made by vis2cocovid.py (which refuses it) with a
    mask of another size: one line naming the video and the file."""
    root = tmp_path / 'data'
    shutil.copytree(data_root, root)
    ann_file = root / 'annotations' / 'train_cocovid.json'
    data = json.loads(ann_file.read_text())
    first = data['annotations'][0]
    video = next(v for v in data['videos'] if v['id'] == first['video_id'])
    small = mask_utils.encode(np.asfortranarray(np.ones((32, 48), np.uint8)))
    first['segmentation'] = dict(size=[32, 48],
                                 counts=small['counts'].decode())
    ann_file.write_text(json.dumps(data))
    out = tmp_path / 'out'
    proc = run_browse(CONFIG, '--output-dir', out, '--max-videos', '1',
                      '--cfg-options',
                      f'train_dataloader.dataset.data_root={root}/')
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'error: video {video["name"]} of {ann_file}: '
                           'the train pipeline failed on it'), last
    assert not out.exists() or not any(
        name.endswith('.mp4') for name in os.listdir(out))


def test_user_mistakes_give_one_line(data_root, tmp_path, capsys):
    with pytest.raises(SystemExit, match='missing.py does not exist'):
        browse_dataset.main([str(tmp_path / 'missing.py')])
    with pytest.raises(SystemExit) as error:
        browse_dataset.main([CONFIG, '--fps', '0'])
    assert error.value.code == 2
    assert '--fps must be > 0' in capsys.readouterr().err
    ann_file = tmp_path / 'broken.json'
    ann_file.write_text('{"videos": [')
    with pytest.raises(SystemExit, match=re.escape(f'ann_file {ann_file})')
                       + '.*cannot be built'):
        browse_dataset.main([
            CONFIG, '--cfg-options',
            f'train_dataloader.dataset.data_root={tmp_path}/',
            'train_dataloader.dataset.ann_file=broken.json'
        ])
