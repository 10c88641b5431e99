"""tools/analysis/browse_dataset.py on a tiny synthetic dataset."""
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import init_default_scope

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
