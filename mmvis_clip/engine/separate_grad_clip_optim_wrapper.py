"""Gradient clipping with some modules clipped on their own norm (so that
a detached head does not change the other parameters' steps; see
configs/stc/README.md).

Config::

    optim_wrapper = dict(
        type='SeparateGradClipOptimWrapper',
        constructor='SeparateGradClipOptimWrapperConstructor',
        separate_grad_clip=['track_head'],
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
        clip_grad=dict(max_norm=35, norm_type=2))

``tools/train.py --amp`` swaps in :class:`SeparateGradClipAmpOptimWrapper`.
"""
import copy
from collections import OrderedDict
from typing import List, Optional, Sequence

import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS
from mmengine.model import is_model_wrapper
from mmengine.optim import (AmpOptimWrapper, DefaultOptimWrapperConstructor,
                            OptimWrapper)

GRAD_CLIP_GROUP_KEY = 'clip_group'


class SeparateGradClipMixin:
    """Clips each clip group of an optim wrapper on its own norm.

    A param group's ``'clip_group'`` entry (set by
    :class:`SeparateGradClipOptimWrapperConstructor`) names its clip group;
    groups without it form the default group. ``clip_grad`` applies to each
    group independently. The default group's norm is logged as
    ``grad_norm``, a named group's as ``grad_norm_<name>``. Without named
    groups it is exactly the wrapper's own clipping.
    """

    def _clip_grad(self) -> None:
        groups: 'OrderedDict[Optional[str], List]' = OrderedDict()
        for param_group in self.optimizer.param_groups:
            params = groups.setdefault(
                param_group.get(GRAD_CLIP_GROUP_KEY), [])
            params.extend(p for p in param_group['params']
                          if p.requires_grad and p.grad is not None)
        for name, params in groups.items():
            if not params:
                continue
            norm = self.clip_func(params, **self.clip_grad_kwargs)
            if norm is not None:  # clip_grad_value_ returns None
                key = self.grad_name if name is None else \
                    f'{self.grad_name}_{name}'
                self.message_hub.update_scalar(f'train/{key}', float(norm))


@OPTIM_WRAPPERS.register_module()
class SeparateGradClipOptimWrapper(SeparateGradClipMixin, OptimWrapper):
    """:class:`OptimWrapper` clipping each clip group on its own norm (see
    :class:`SeparateGradClipMixin`)."""


@OPTIM_WRAPPERS.register_module()
class SeparateGradClipAmpOptimWrapper(SeparateGradClipMixin, AmpOptimWrapper):
    """:class:`AmpOptimWrapper` clipping each clip group on its own norm
    (see :class:`SeparateGradClipMixin`); the loss scaler unscales the
    gradients before clipping, as in :class:`AmpOptimWrapper`."""


#: The AMP form of each optim wrapper type ``--amp`` can switch.
AMP_WRAPPERS = {
    'OptimWrapper': 'AmpOptimWrapper',
    'AmpOptimWrapper': 'AmpOptimWrapper',
    'SeparateGradClipOptimWrapper': 'SeparateGradClipAmpOptimWrapper',
    'SeparateGradClipAmpOptimWrapper': 'SeparateGradClipAmpOptimWrapper',
}


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SeparateGradClipOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Builds the optimizer with the named modules in their own gradient
    clipping groups.

    The parameters of each module of ``separate_grad_clip`` (names or
    dotted paths) go to param groups tagged with its name, other settings
    kept. The wrapper type defaults to :class:`SeparateGradClipOptimWrapper`.

    Args:
        optim_wrapper_cfg (dict): As for
            :class:`DefaultOptimWrapperConstructor`, plus
            ``separate_grad_clip`` (list[str]).
        paramwise_cfg (dict, optional): As for
            :class:`DefaultOptimWrapperConstructor`.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)
        separate = optim_wrapper_cfg.pop('separate_grad_clip', None)
        if not separate or isinstance(separate, str):
            raise ValueError(
                'optim_wrapper.separate_grad_clip must be a non-empty '
                f'list of module names, got {separate!r}')
        self.separate_grad_clip: Sequence[str] = list(separate)
        optim_wrapper_cfg.setdefault('type', 'SeparateGradClipOptimWrapper')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model):
            model = model.module
        modules = dict(model.named_modules())
        owner = {}
        for name in self.separate_grad_clip:
            if name not in modules:
                raise KeyError(
                    f'optim_wrapper.separate_grad_clip: the model has '
                    f'no module {name!r}')
            for param in modules[name].parameters():
                owner[param] = name
        optim_wrapper = super().__call__(model)
        if not isinstance(optim_wrapper, SeparateGradClipMixin):
            raise TypeError(
                'separate_grad_clip needs a SeparateGradClipOptimWrapper '
                'or SeparateGradClipAmpOptimWrapper, got '
                f'{type(optim_wrapper).__name__}')
        # the optimizer is new (no state yet): its groups can be split
        optimizer = optim_wrapper.optimizer
        split = []
        for group in optimizer.param_groups:
            by_name: 'OrderedDict[Optional[str], List]' = OrderedDict()
            for param in group['params']:
                by_name.setdefault(owner.get(param), []).append(param)
            for name, params in by_name.items():
                new_group = dict(group, params=params)
                if name is not None:
                    new_group[GRAD_CLIP_GROUP_KEY] = name
                split.append(new_group)
        optimizer.param_groups[:] = split
        return optim_wrapper
