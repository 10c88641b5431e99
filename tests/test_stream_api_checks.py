"""The stream API's own checks: the model's mode, one stream per model
(also under ``python -O``), and a device this machine does not have."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmvis_clip.apis import (SharedModelError, TrainModeError, VideoSegmenter,
                             check_device, init_vis_model)
from mmvis_clip.utils.user_errors import UserError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STC_CONFIG = osp.join(REPO, 'configs', 'stc',
                      'stc_r18_fpn_1xb4-8e_synthetic.py')


def frames(num=3, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, (32, 48, 3), dtype=np.uint8) for _ in range(num)
    ]


def run(seg, video):
    seg.reset()
    results = [r for f in video for r in seg.push(f)]
    rest, _ = seg.finish()
    return [(r.frame_index, r.instances_id.tolist(), r.scores.tolist())
            for r in results + rest]


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return init_vis_model(STC_CONFIG, device='cpu')


def test_train_mode_is_refused(model):
    model.train()
    try:
        with pytest.raises(TrainModeError,
                           match=r'^VideoSegmenter.__init__: the model \(STC\)'
                           r' is in train mode \(model.training is True\); '
                           r'call model.eval\(\) first'):
            VideoSegmenter(model)
        model.eval()
        seg = VideoSegmenter(model)
        # a module put back in train mode later is found at the next push
        model.detector.backbone.train()
        with pytest.raises(TrainModeError,
                           match=r'^VideoSegmenter.push: .* modules, e.g. '
                           r'detector.backbone, are in train mode'):
            seg.push(frames(1)[0])
    finally:
        model.eval()
    assert run(seg, frames()) == run(VideoSegmenter(model), frames())


def test_two_segmenters_on_one_model(model):
    video_a, video_b = frames(seed=1), frames(seed=2)
    alone_a = run(VideoSegmenter(model), video_a)
    seg_a = VideoSegmenter(model)
    seg_a.reset()
    seg_a.push(video_a[0])
    seg_b = VideoSegmenter(model)  # takes the model's tracker over
    message = (r'^VideoSegmenter.push: another VideoSegmenter took over this '
               r'STC model \(created on it or reset\(\) after this one\)')
    with pytest.raises(SharedModelError, match=message):
        seg_a.push(video_a[1])
    with pytest.raises(SharedModelError, match='^VideoSegmenter.finish: '):
        seg_a.finish()
    # one after the other is fine: reset() takes the model back
    run(seg_b, video_b)
    assert run(seg_a, video_a) == alone_a
    with pytest.raises(SharedModelError):
        seg_b.push(video_b[0])


SHARED_MODEL_SCRIPT = f'''
import numpy as np, torch
from mmvis_clip.apis import SharedModelError, VideoSegmenter, init_vis_model
assert __debug__ is False
model = init_vis_model({STC_CONFIG!r}, device='cpu')
frame = np.zeros((32, 48, 3), np.uint8)
a = VideoSegmenter(model)
a.push(frame)
b = VideoSegmenter(model)
b.push(frame)
try:
    a.push(frame)
except SharedModelError as err:
    print('refused:', err)
'''


def test_two_segmenters_on_one_model_under_python_O():
    """``python -O`` drops asserts; the ownership check is not one."""
    proc = subprocess.run(
        [sys.executable, '-O', '-c', SHARED_MODEL_SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith(
        'refused: VideoSegmenter.push: another VideoSegmenter took over '
        'this STC model'), proc.stdout


def test_device_this_machine_does_not_have(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(UserError,
                       match=r'^device cuda:0: CUDA is not available here$'):
        init_vis_model(STC_CONFIG, device='cuda:0')
    with pytest.raises(UserError, match=r'^device gpu: .*gpu'):
        init_vis_model(STC_CONFIG, device='gpu')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    with pytest.raises(UserError,
                       match=r'^--device cuda:2: this machine shows 2 '
                       r'GPU\(s\) \(cuda:0 to cuda:1\)$'):
        check_device('cuda:2', '--device')
    assert check_device('cuda:1') == 'cuda:1'
    assert check_device(None) == 'cuda:0'


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is here')
def test_cuda_without_a_gpu_is_one_line():
    with pytest.raises(UserError) as err:
        init_vis_model(STC_CONFIG, device='cuda:0')
    assert str(err.value) == 'device cuda:0: CUDA is not available here'
