"""tools/demo/video_demo.py, the video renderer and test.py --show-dir."""
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
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

from mmvis_clip.apis import FrameSource, VideoSegmenter, init_vis_model
from mmvis_clip.visualization import (AtomicVideoWriter, VideoRenderer,
                                      instance_color)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'stc', 'stc_r18_fpn_1xb4-8e_synthetic.py')


def load_tool(*path):
    spec = importlib.util.spec_from_file_location(
        path[-1][:-3], osp.join(REPO, *path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


video_demo = load_tool('tools', 'demo', 'video_demo.py')


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


def count_frames(path):
    capture = cv2.VideoCapture(path)
    assert capture.isOpened(), path
    num, size = 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        num += 1
        size = frame.shape[:2]
    capture.release()
    return num, size


def test_demo_on_frame_folder(data_root, checkpoint, tmp_path):
    folder = osp.join(data_root, 'valid', 'JPEGImages', 'video_0001')
    out, out_json = str(tmp_path / 'out.mp4'), str(tmp_path / 'res.json')
    video_demo.main([
        folder, CONFIG, '--checkpoint', checkpoint, '--out', out,
        '--out-json', out_json, '--score-thr', '0.1', '--video-id', '7'
    ])
    assert count_frames(out) == (5, (64, 96))
    assert sorted(os.listdir(tmp_path)) == ['out.mp4', 'res.json']

    # the same video through the streaming API, checked against the json
    seg = VideoSegmenter.from_model(init_vis_model(CONFIG, checkpoint))
    seg.reset()
    results = [r for f in FrameSource(folder) for r in seg.push(f)]
    with open(out_json) as f:
        entries = json.load(f)
    ids = sorted({int(i) for r in results for i in r.instance_ids})
    assert len(entries) == len(ids) > 0  # one entry per track
    for track_id, entry in zip(ids, entries):
        assert entry['video_id'] == 7
        assert len(entry['segmentations']) == 5
        labels, scores = [], []
        for r, rle in zip(results, entry['segmentations']):
            hit = np.flatnonzero(r.instance_ids == track_id)
            if len(hit) == 0:
                assert rle is None
                continue
            (j, ) = hit
            labels.append(int(r.labels[j]))
            scores.append(float(r.scores[j]))
            assert np.array_equal(
                mask_utils.decode(rle).astype(bool), r.masks[j])
        assert entry['category_id'] == np.bincount(labels).argmax() + 1
        assert entry['score'] == pytest.approx(np.mean(scores), rel=1e-5)


def test_demo_on_mp4_without_checkpoint(data_root, tmp_path):
    folder = osp.join(data_root, 'valid', 'JPEGImages', 'video_0000')
    video = str(tmp_path / 'in.mp4')
    with AtomicVideoWriter(video, fps=5) as writer:
        for frame in FrameSource(folder):
            writer.write(frame)
    out_json = str(tmp_path / 'res.json')
    with pytest.warns(UserWarning, match='RANDOM.*make demo'):
        video_demo.main([video, CONFIG, '--out-json', out_json])
    with open(out_json) as f:
        entries = json.load(f)
    assert entries and all(len(e['segmentations']) == 5 for e in entries)


def test_demo_needs_an_output(data_root):
    with pytest.raises(SystemExit):
        video_demo.main([data_root, CONFIG])
    with pytest.raises(SystemExit):
        video_demo.main([data_root, CONFIG, '--out', 'x.avi'])


def test_atomic_video_writer(tmp_path):
    path = str(tmp_path / 'v.mp4')
    with pytest.raises(ValueError, match='is 48x40, the video is 48x32'):
        with AtomicVideoWriter(path) as writer:
            writer.write(np.zeros((32, 48, 3), np.uint8))
            writer.write(np.zeros((40, 48, 3), np.uint8))
    assert os.listdir(tmp_path) == []  # no partial or temporary file
    with pytest.raises(ValueError, match='no frame'):
        AtomicVideoWriter(path).close()
    with AtomicVideoWriter(path, fps=4) as writer:
        for _ in range(3):
            writer.write(np.zeros((32, 48, 3), np.uint8))
    assert os.listdir(tmp_path) == ['v.mp4']
    assert count_frames(path) == (3, (32, 48))


def test_instance_colors():
    state = np.random.get_state()
    colors = [instance_color(i) for i in range(50)]
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1])
    assert colors == [instance_color(i) for i in range(50)]  # stable
    assert len(set(colors)) == 50
    assert all(0 <= c <= 255 for color in colors for c in color)


def test_renderer_paints_each_mask_in_its_id_colour():
    frame = np.full((100, 120, 3), 128, np.uint8)
    masks = np.zeros((2, 100, 120), bool)
    masks[0, 20:95, 5:50] = True
    masks[1, 20:95, 70:115] = True
    instances = InstanceData(
        masks=masks,
        bboxes=torch.tensor([[5., 20., 50., 95.], [70., 20., 115., 95.]]),
        labels=torch.tensor([0, 1]),
        scores=torch.tensor([0.9, 0.2]),
        instances_id=torch.tensor([3, 11]))
    drawn = VideoRenderer(classes=('a', 'b'), score_thr=0.5).draw(
        frame, instances)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    # id 3 is drawn: its mask interior moves towards its colour (BGR);
    # id 11 scores below the threshold: untouched
    inner = drawn[70:90, 15:45].reshape(-1, 3).mean(0)
    color = np.array(instance_color(3)[::-1], float)
    assert np.linalg.norm(inner - color) < 0.7 * np.linalg.norm(128 - color)
    assert np.array_equal(drawn[:, 60:], frame[:, 60:])


@pytest.mark.slow
def test_test_py_show_dir(data_root, checkpoint, tmp_path):
    show = str(tmp_path / 'show')
    cmd = [
        sys.executable, 'tools/test.py', CONFIG, checkpoint, '--work-dir',
        str(tmp_path / 'work'), '--show-dir', show, '--cfg-options',
        f'test_dataloader.dataset.data_root={data_root}',
        f'test_evaluator.ann_file={data_root}annotations/valid.json',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(os.listdir(show)) == ['video_0000.mp4', 'video_0001.mp4']
    for name in os.listdir(show):
        assert count_frames(osp.join(show, name)) == (5, (64, 96))
