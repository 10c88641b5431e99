"""Gradient clipping with separately clipped modules."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, build_optim_wrapper

import mmvis_clip  # noqa: F401
from mmvis_clip.engine import SeparateGradClipOptimWrapper


class TwoHeads(nn.Module):

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 2, bias=False)
        self.head = nn.Linear(3, 1, bias=False)


def build(model, **extra):
    cfg = dict(
        type='SeparateGradClipOptimWrapper',
        constructor='SeparateGradClipOptimWrapperConstructor',
        separate_grad_clip=['head'],
        optimizer=dict(type='SGD', lr=1.0),
        clip_grad=dict(max_norm=1.0, norm_type=2))
    cfg.update(extra)
    return build_optim_wrapper(model, cfg)


def set_grads(model, body, head):
    model.body.weight.grad = torch.full_like(model.body.weight, body)
    model.head.weight.grad = torch.full_like(model.head.weight, head)


def test_each_group_is_clipped_on_its_own_norm():
    model = TwoHeads()
    wrapper = build(model)
    assert isinstance(wrapper, SeparateGradClipOptimWrapper)
    groups = wrapper.optimizer.param_groups
    assert [g.get('clip_group') for g in groups] == [None, 'head']
    assert groups[0]['params'] == [model.body.weight]
    assert groups[1]['params'] == [model.head.weight]
    # body: 6 entries of 2 -> norm sqrt(24), clipped to 1;
    # head: 3 entries of 0.1 -> norm sqrt(0.03) < 1, left alone
    set_grads(model, 2.0, 0.1)
    wrapper._clip_grad()
    assert torch.allclose(model.body.weight.grad,
                          torch.full((2, 3), 2.0 / 24**0.5), atol=1e-6)
    assert torch.equal(model.head.weight.grad, torch.full((1, 3), 0.1))
    hub = wrapper.message_hub
    assert hub.get_scalar('train/grad_norm').current() == pytest.approx(
        24**0.5)
    assert hub.get_scalar('train/grad_norm_head').current() == pytest.approx(
        0.03**0.5)


def test_a_separate_group_does_not_change_the_others_step():
    """The body's step is the same whatever the head's gradient is, unlike
    with one global norm."""
    steps = {}
    for kind in ('separate', 'global'):
        for head_grad in (0.1, 100.):
            torch.manual_seed(0)
            model = TwoHeads()
            wrapper = build(model) if kind == 'separate' else \
                build_optim_wrapper(model, dict(
                    type='OptimWrapper',
                    optimizer=dict(type='SGD', lr=1.0),
                    clip_grad=dict(max_norm=10.0)))
            if kind == 'global':
                assert type(wrapper) is OptimWrapper
            before = model.body.weight.detach().clone()
            set_grads(model, 2.0, head_grad)
            wrapper.step()
            steps[kind, head_grad] = model.body.weight.detach() - before
    assert torch.equal(steps['separate', 0.1], steps['separate', 100.])
    assert not torch.allclose(steps['global', 0.1], steps['global', 100.])


def test_paramwise_groups_keep_their_settings():
    model = TwoHeads()
    wrapper = build(
        model,
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.5)}))
    groups = {id(g['params'][0]): g for g in wrapper.optimizer.param_groups}
    head = groups[id(model.head.weight)]
    assert head['clip_group'] == 'head' and head['lr'] == 0.5
    assert 'clip_group' not in groups[id(model.body.weight)]


@pytest.mark.parametrize('separate, error', [(['neck'], KeyError),
                                             ([], ValueError),
                                             ('head', ValueError)])
def test_bad_module_names(separate, error):
    with pytest.raises(error, match='separate_grad_clip'):
        build(TwoHeads(), separate_grad_clip=separate)


@pytest.fixture
def amp_allowed_on_cpu(monkeypatch):
    """mmengine's AmpOptimWrapper refuses hosts without an accelerator; its
    GradScaler then runs disabled (scale 1), which is enough to test the
    wrapper's own code on CPU."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)


def test_amp_form_clips_each_group(amp_allowed_on_cpu):
    from mmvis_clip.engine import SeparateGradClipAmpOptimWrapper
    from mmengine.optim import AmpOptimWrapper
    model = TwoHeads()
    wrapper = build(model, type='SeparateGradClipAmpOptimWrapper')
    assert isinstance(wrapper, SeparateGradClipAmpOptimWrapper)
    assert isinstance(wrapper, AmpOptimWrapper)
    before = model.body.weight.detach().clone()
    set_grads(model, 2.0, 0.1)
    wrapper.step()
    # lr 1: the body moved by its clipped gradient 2 / sqrt(24)
    assert torch.allclose(before - model.body.weight.detach(),
                          torch.full((2, 3), 2.0 / 24**0.5), atol=1e-6)
    assert wrapper.message_hub.get_scalar(
        'train/grad_norm_head').current() == pytest.approx(0.03**0.5)


def test_enable_amp_keeps_separate_grad_clipping_of_every_stc_config():
    import glob
    import os.path as osp

    from mmengine.config import Config

    from mmvis_clip.engine import enable_amp
    root = osp.join(osp.dirname(__file__), '..', 'configs')
    configs = glob.glob(osp.join(root, 'stc', '*synthetic.py')) + glob.glob(
        osp.join(root, 'cico', '*synthetic.py'))
    assert configs
    for path in configs:
        cfg = Config.fromfile(path)
        kind = cfg.optim_wrapper.get('type', 'OptimWrapper')
        enable_amp(cfg)
        expected = {
            'OptimWrapper': 'AmpOptimWrapper',
            'SeparateGradClipOptimWrapper': 'SeparateGradClipAmpOptimWrapper'
        }[kind]
        assert cfg.optim_wrapper.type == expected, path
        assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert any('SeparateGradClip' in Config.fromfile(p).optim_wrapper.type
               for p in configs)


def test_enable_amp_refuses_bfloat16_with_cuda(monkeypatch):
    from mmengine.config import Config

    from mmvis_clip.engine import enable_amp
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper',
                                         dtype='bfloat16')))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    with pytest.raises(ValueError, match='bfloat16.*float16'):
        enable_amp(cfg)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    enable_amp(Config(dict(optim_wrapper=dict(dtype='bfloat16'))))
    with pytest.raises(ValueError, match='no mixed-precision form'):
        enable_amp(Config(dict(optim_wrapper=dict(type='MyWrapper'))))
