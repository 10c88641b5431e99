"""What only a GPU shows: mmcv's CUDA ops, a training step of every model
with and without AMP, GPU memory on long videos, the stream API on CUDA.

Skipped where CUDA is not available; ``make test-gpu`` runs them.
"""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import mmvis_clip  # noqa: F401
from mmvis_clip.engine import enable_amp

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs CUDA')

register_all_modules()
DEVICE = 'cuda'
MASKTRACK = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', 'masktrack_rcnn',
    'masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py')


def test_mmcv_cuda_ops():
    from mmcv.ops import RoIAlign, sigmoid_focal_loss

    from mmvis_clip.utils.stack_check import find_ops_problem
    assert find_ops_problem() is None
    logits = torch.randn(8, 4, device=DEVICE, requires_grad=True)
    labels = torch.randint(0, 4, (8, ), device=DEVICE)
    sigmoid_focal_loss(logits, labels, 2.0, 0.25, None, 'mean').backward()
    assert torch.isfinite(logits.grad).all()
    feats = torch.randn(1, 4, 16, 16, device=DEVICE)
    rois = torch.tensor([[0., 1., 1., 9., 9.]], device=DEVICE)
    out = RoIAlign((2, 2), 1.0, 0)(feats, rois)
    assert out.shape == (1, 4, 2, 2)


def _models():
    """(name, tiny model config, training batch) of every model."""
    import test_cico_model as cico
    import test_stc_model as stc
    return [
        ('stc', stc.tiny_model_cfg(), stc.training_batch,
         stc.SYNTHETIC),
        ('cico-yolact', cico.tiny_model_cfg(cico.SYNTHETIC['yolact']),
         cico.training_batch, cico.SYNTHETIC['yolact']),
        ('cico-condinst', cico.tiny_model_cfg(cico.SYNTHETIC['condinst']),
         cico.training_batch, cico.SYNTHETIC['condinst']),
        ('masktrack-rcnn', Config.fromfile(MASKTRACK).model,
         stc.training_batch, MASKTRACK),
    ]


@pytest.mark.parametrize('amp', [False, True])
@pytest.mark.parametrize('index', range(4))
def test_training_steps_on_cuda(index, amp):
    """Five steps with the config's optimizer wrapper (its AMP form with
    ``amp``): finite gradients at every step and the loss moves."""
    name, model_cfg, batch, config = _models()[index]
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(DEVICE).train()
    cfg = Config.fromfile(config)
    if amp:
        enable_amp(cfg)
    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    wrapper_cfg.optimizer.lr = 1e-3
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    data = model.data_preprocessor(batch(), training=True)
    totals = []
    for step in range(5):
        with wrapper.optim_context(model):
            losses = model.loss(**copy.deepcopy(data))
            loss, _ = model.parse_losses(losses)
        assert torch.isfinite(loss), (name, step, losses)
        wrapper.backward(loss)
        if not amp:  # with AMP the scaler may skip an overflowing step
            for pname, p in model.named_parameters():
                assert p.grad is None or torch.isfinite(p.grad).all(), pname
        wrapper.step()
        wrapper.zero_grad()
        totals.append(float(loss))
    assert totals[-1] != totals[0], name


def _long_video_peak(model, num_frames):
    import test_cico_model as cico
    from scripted_frames import frame_sample
    frames = [cico.moving_clip(1, start=t % 6)[0] for t in range(num_frames)]
    inputs = torch.from_numpy(
        np.stack([cico.paint(b, lab) for b, lab, _ in frames]))[None]
    video = TrackDataSample()
    video.video_data_samples = [
        frame_sample(b, lab, i, t, 'v') for t, (b, lab, i) in enumerate(frames)
    ]
    data = model.data_preprocessor(
        dict(inputs=[inputs[0]], data_samples=[video]), False)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    with torch.no_grad():
        out = model.predict(**data)
    torch.cuda.synchronize()
    assert all(out[0][t].pred_track_instances.masks.device.type == 'cpu'
               for t in range(num_frames))
    return torch.cuda.max_memory_allocated() - base


@pytest.mark.parametrize('index', range(2))
def test_test_loop_memory_flat_in_video_length(index):
    """Peak GPU memory of a whole-video prediction does not grow with the
    video: finished frames leave the GPU."""
    import test_cico_model as cico
    import test_stc_model as stc
    cfg = [stc.tiny_model_cfg(),
           cico.tiny_model_cfg(cico.SYNTHETIC['yolact'])][index]
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.to(DEVICE).eval()
    short = _long_video_peak(model, 30)
    long = _long_video_peak(model, 240)
    # the input frames of the video are on the GPU in both (8x more for
    # the long one): compare what prediction adds
    frame_bytes = 3 * 64 * 96 * 4
    assert long - 8 * 30 * frame_bytes <= 1.2 * short + 2**20, (short, long)


def test_stream_api_equals_test_loop_on_cuda(tmp_path, make_tiny_synthetic):
    """CiCo's streaming segmenter and its test loop agree on CUDA."""
    import test_apis

    from mmvis_clip.apis import VideoSegmenter, init_vis_model
    data_root = make_tiny_synthetic(num_videos=2, num_frames=6, seed=1)
    options = dict(
        test_apis.data_options(data_root), **{
            'model.test_cfg.score_thr': 0.005,
            'model.tracker.carry_clips': 0
        })
    ckpt = test_apis.save_random_checkpoint(test_apis.CICO_CONFIG,
                                            str(tmp_path / 'cico.pth'),
                                            options)
    model = init_vis_model(
        test_apis.CICO_CONFIG, ckpt, device=DEVICE, cfg_options=options)
    seg = VideoSegmenter(model)
    frames = test_apis.model_video_outputs(model, data_root, 0)
    seg.reset()
    results = [r for f in frames for r in seg.push(f.img_path)]
    results += seg.finish()[0]
    test_apis.assert_same_as_test_loop(frames, results)
