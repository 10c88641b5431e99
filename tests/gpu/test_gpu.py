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


def _training_setup(index, amp, device=DEVICE):
    """Model ``index`` of :func:`_models` on ``device`` in training mode,
    its config's optim wrapper (the AMP form with ``amp``) at lr 1e-3 and
    its pre-processed training batch.

    Returns:
        tuple: ``(name, model, optim_wrapper, data)``.
    """
    name, model_cfg, batch, config = _models()[index]
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device).train()
    cfg = Config.fromfile(config)
    if amp:
        enable_amp(cfg)  # a dynamic loss scale: no config sets one
    wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
    wrapper_cfg.optimizer.lr = 1e-3
    wrapper = build_optim_wrapper(model, wrapper_cfg)
    return name, model, wrapper, model.data_preprocessor(
        batch(), training=True)


def _assert_training_steps(name, model, wrapper, data, num_steps=5):
    """``num_steps`` training steps through ``wrapper`` that really update
    the model.

    The optimizer's own step hook counts the steps it takes. Without a
    loss scaler it takes every one; with one (AMP) it may skip a step
    whose gradients overflowed, and only such a step: the scaler then
    backs its scale off (no growth within its 2000-step interval), so the
    final scale tells how many it skipped. Gradients are read after
    ``wrapper.step()``, where the scaler has unscaled them in place: the
    ones the optimizer used, finite at every step taken; each parameter
    with a non-zero one then changes.
    """
    scaler = getattr(wrapper, 'loss_scaler', None)
    init_scale = None if scaler is None else scaler.get_scale()
    taken = []
    hook = wrapper.optimizer.register_step_post_hook(
        lambda *_: taken.append(True))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    totals, with_grad = [], set()
    try:
        for step in range(num_steps):
            with wrapper.optim_context(model):
                losses = model.loss(**copy.deepcopy(data))
                loss, _ = model.parse_losses(losses)
            assert torch.isfinite(loss), (name, step, losses)
            wrapper.backward(loss)
            num_taken = len(taken)
            wrapper.step()
            bad = [
                pname for pname, p in model.named_parameters()
                if p.grad is not None and not torch.isfinite(p.grad).all()
            ]
            if len(taken) > num_taken:
                assert not bad, (name, step, 'non-finite gradients', bad)
                with_grad.update(
                    pname for pname, p in model.named_parameters()
                    if p.grad is not None and bool(p.grad.any()))
            else:
                assert scaler is not None and bad, (
                    name, step, 'the optimizer skipped a step without an '
                    'overflowing gradient')
            wrapper.zero_grad()
            totals.append(float(loss))
    finally:
        hook.remove()
    if scaler is None:
        assert len(taken) == num_steps, (name, len(taken))
    else:
        scale = scaler.get_scale()
        assert taken, (f'{name}: the loss scaler skipped all {num_steps} '
                       f'optimizer steps (scale {init_scale} -> {scale})')
        skipped = num_steps - len(taken)
        assert scale == init_scale * scaler.get_backoff_factor()**skipped, (
            name, init_scale, scale, skipped)
    unchanged = [
        pname for pname, p in model.named_parameters()
        if torch.equal(p.detach(), before[pname])
    ]
    assert with_grad and not with_grad & set(unchanged), (
        f'{name}: parameters with gradients unchanged after {num_steps} '
        f'steps: {sorted(with_grad & set(unchanged))[:5]}')
    assert totals[-1] != totals[0], name


@pytest.mark.parametrize('amp', [False, True])
@pytest.mark.parametrize('index', range(4))
def test_training_steps_on_cuda(index, amp):
    """Five steps with the config's optimizer wrapper (its AMP form with
    ``amp``): the optimizer steps on finite (unscaled) gradients, AMP's
    loss scaler skips only overflowing steps and not all of them, the
    parameters and the loss change."""
    _assert_training_steps(*_training_setup(index, amp))


def _detecting_model(index, device=DEVICE):
    """Tiny random STC (``index`` 0) or CiCo-Yolact (1), in eval mode on
    ``device``, keeping every detection: random weights score below the
    configs' thresholds (STC's best about 0.007 < 0.03), and a video
    without detections has no result to move off the device."""
    import test_cico_model as cico
    import test_stc_model as stc
    if index == 0:
        cfg = stc.tiny_model_cfg()
        cfg.detector.test_cfg.score_thr = 0.0
    else:
        cfg = cico.tiny_model_cfg(cico.SYNTHETIC['yolact'])
        cfg.test_cfg.update(score_thr=0.0, max_per_clip=10)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.to(device).eval()


def _predict_video(model, num_frames):
    """``model.predict`` of a video of ``num_frames`` scripted frames (two
    moving objects, a 6-frame cycle).

    Returns:
        list[DetDataSample]: Its frames with their predictions.
    """
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
    with torch.no_grad():
        out = model.predict(**data)[0]
    return [out[t] for t in range(num_frames)]


def _assert_masks_on_every_frame(frames):
    """Every frame has tracked instances, with masks on the CPU at the
    frame's original size."""
    for t, frame in enumerate(frames):
        pred = frame.pred_track_instances
        assert len(pred) > 0, f'frame {t}: no instance'
        assert pred.masks.device.type == 'cpu', (t, pred.masks.device)
        assert pred.masks.shape == (len(pred), *frame.ori_shape), t


def _long_video_peak(model, num_frames):
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    frames = _predict_video(model, num_frames)
    torch.cuda.synchronize()
    _assert_masks_on_every_frame(frames)
    return torch.cuda.max_memory_allocated() - base


@pytest.mark.parametrize('index', range(2))
def test_test_loop_memory_flat_in_video_length(index):
    """Peak GPU memory of a whole-video prediction does not grow with the
    video: every frame has masks, and finished frames leave the GPU."""
    model = _detecting_model(index)
    short = _long_video_peak(model, 30)
    long = _long_video_peak(model, 240)
    # the input frames of the video are on the GPU in both (8x more for
    # the long one): compare what prediction adds
    frame_bytes = 3 * 64 * 96 * 4
    assert long - 8 * 30 * frame_bytes <= 1.2 * short + 2**20, (short, long)


def _assert_stream_equals_test_loop(data_root, tmp_path, device=DEVICE):
    """CiCo's streaming segmenter and its test loop agree on ``device``,
    on a video with instances in every frame."""
    import test_apis

    from mmvis_clip.apis import VideoSegmenter, init_vis_model
    options = dict(
        test_apis.data_options(data_root), **{
            'model.test_cfg.score_thr': 0.005,
            'model.tracker.carry.clips': 0
        })
    ckpt = test_apis.save_random_checkpoint(test_apis.CICO_CONFIG,
                                            str(tmp_path / 'cico.pth'),
                                            options)
    model = init_vis_model(
        test_apis.CICO_CONFIG, ckpt, device=device, cfg_options=options)
    seg = VideoSegmenter(model)
    frames = test_apis.model_video_outputs(model, data_root, 0)
    seg.reset()
    results = [r for f in frames for r in seg.push(f.img_path)]
    results += seg.finish()[0]
    test_apis.assert_same_as_test_loop(frames, results)
    # equal empty lists would prove nothing
    assert all(len(r) > 0 for r in results), [len(r) for r in results]


def test_stream_api_equals_test_loop_on_cuda(tmp_path, make_tiny_synthetic):
    """CiCo's streaming segmenter and its test loop agree on CUDA."""
    data_root = make_tiny_synthetic(num_videos=2, num_frames=6, seed=1)
    _assert_stream_equals_test_loop(data_root, tmp_path)
