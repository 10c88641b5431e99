"""``--resume`` checked against the run it continues.

mmengine's ``Runner.resume`` loads what it can of a checkpoint: the model
with ``strict=False`` (keys and shapes that differ are a warning), the
optimizer and the parameter schedulers only when the checkpoint has them
(else they start afresh, silently), the schedulers by ``zip`` (extra ones
ignored); a missing ``message_hub`` and optimizer parameter groups that
differ end in a traceback. :class:`ResumeCheckHook` looks at the
checkpoint before any of it is loaded and either refuses it in one line
or says in one line what starts afresh.
"""
from typing import List, Optional, Tuple

from mmdet.registry import HOOKS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from ..utils.checkpoint_loading import LoadReport
from ..utils.user_errors import UserError
from .checkpoint_load_hook import checkpoint_config


def _strip_module(key: str) -> str:
    # mmengine's resume strips a DDP prefix (revise_keys)
    return key[len('module.'):] if key.startswith('module.') else key


def model_differences(model, state_dict: dict, source: str) -> LoadReport:
    """What of ``state_dict`` would not load exactly into ``model``.

    Args:
        model (nn.Module): The model (a wrapper's ``module`` is used).
        state_dict (dict): The checkpoint's weights.
        source (str): The checkpoint, for the report.

    Returns:
        LoadReport: ``missing``, ``unexpected`` and ``mismatched`` filled
        (BN's ``num_batches_tracked`` not counted as missing).
    """
    if is_model_wrapper(model):
        model = model.module
    report = LoadReport(source)
    saved = {_strip_module(k): v for k, v in state_dict.items()}
    own = model.state_dict()
    for key, value in own.items():
        if key not in saved:
            if not key.endswith('num_batches_tracked'):
                report.missing.append(key)
        elif hasattr(saved[key], 'shape') and \
                tuple(saved[key].shape) != tuple(value.shape):
            report.mismatched.append(
                (key, tuple(saved[key].shape), tuple(value.shape)))
        else:
            report.loaded.append(key)
    report.unexpected = [k for k in saved if k not in own]
    return report


def _optimizers(wrapper, saved) -> List[Tuple[str, object, Optional[dict]]]:
    """``(name, torch optimizer, its saved state dict)`` of an optimizer
    wrapper (each of an ``OptimWrapperDict``)."""
    if isinstance(wrapper, OptimWrapperDict):
        saved = saved if isinstance(saved, dict) else {}
        return [(f'{name} ', w.optimizer, saved.get(name))
                for name, w in wrapper.items()]
    return [('', wrapper.optimizer, saved)]


def _groups(sizes: List[int]) -> str:
    shown = ', '.join(str(n) for n in sizes[:4])
    more = ', ...' if len(sizes) > 4 else ''
    return f'{len(sizes)} parameter groups ({shown}{more} tensors)'


def optimizer_differences(wrapper, saved: dict) -> Optional[str]:
    """How a saved optimizer state differs from the run's optimizer.

    Args:
        wrapper (OptimWrapper | OptimWrapperDict): The run's, built.
        saved (dict): The checkpoint's ``optimizer``.

    Returns:
        str | None: The parameter groups (their count and tensors each)
        or the first state tensor whose shape differs; None when they
        match.
    """
    for name, optimizer, state in _optimizers(wrapper, saved):
        if not isinstance(state, dict) or 'param_groups' not in state:
            return f'it has no {name}optimizer state of this run\'s kind'
        have = [len(g['params']) for g in optimizer.param_groups]
        had = [len(g['params']) for g in state['param_groups']]
        if have != had:
            return (f'its {name}optimizer has {_groups(had)}, this run\'s '
                    f'{_groups(have)}')
        params = [p for g in optimizer.param_groups for p in g['params']]
        saved_ids = [i for g in state['param_groups'] for i in g['params']]
        for param, index in zip(params, saved_ids):
            for key, value in (state.get('state', {}).get(index) or
                               {}).items():
                if getattr(value, 'ndim', 0) > 0 and \
                        tuple(value.shape) != tuple(param.shape):
                    return (f'its {name}optimizer\'s {key} of tensor '
                            f'{index} is {tuple(value.shape)}, the '
                            f'parameter {tuple(param.shape)}')
    return None


def _count(schedulers) -> int:
    if isinstance(schedulers, dict):
        return sum(len(v) for v in schedulers.values())
    return len(schedulers) if isinstance(schedulers, (list, tuple)) else 1


def _total_batch(cfg: Optional[Config], world_size: Optional[int]):
    """``(samples per process, processes)`` of a config's training, or
    None where not known."""
    loader = cfg.get('train_dataloader', None) if cfg is not None else None
    batch = loader.get('batch_size', None) if isinstance(loader,
                                                         dict) else None
    if not isinstance(batch, int):
        return None
    return batch, world_size


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """Check that a resumed checkpoint continues this run, before mmengine
    loads it (``after_load_checkpoint`` of ``Runner.resume``).

    Refused, in one line naming the checkpoint: no ``message_hub`` (not a
    training checkpoint), model keys or shapes that differ, optimizer
    parameter groups (count, tensors each, state shapes) that differ, and
    another count of parameter schedulers. Said in one warning line: no
    optimizer state (it starts afresh), no scheduler state (the schedule
    starts again from its first step), another total batch size.

    ``tools/train.py --resume`` adds it. It does nothing in a run that
    does not resume.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not runner._resume or runner._has_loaded:
            return
        source = f'--resume: checkpoint {runner._load_from}'
        config = getattr(runner.cfg, 'filename', None) or 'the config'
        fix = ('resume with the config it was trained with, or start from '
               f'its weights with --cfg-options load_from='
               f'{runner._load_from} (and --partial-load for what fits)')
        if 'message_hub' not in checkpoint:
            raise UserError(
                f'{source} has no message_hub (the training state that '
                'resuming continues): it was not saved by a training run '
                f'(a published model?); start from its weights with '
                f'--cfg-options load_from={runner._load_from}')
        state_dict = checkpoint.get('state_dict', None)
        if not isinstance(state_dict, dict):
            raise UserError(f'{source} has no state_dict (the weights)')
        report = model_differences(runner.model, state_dict,
                                   runner._load_from)
        if not report.exact:
            raise UserError(f'{source} is not of the model of {config}: '
                            f'{report.problems()}; {fix}')
        resets = []
        if 'optimizer' in checkpoint:
            differ = optimizer_differences(runner.optim_wrapper,
                                           checkpoint['optimizer'])
            if differ is not None:
                raise UserError(
                    f'{source} does not continue this run: {differ} (the '
                    f'model or optim_wrapper of {config} differs from its '
                    f'training\'s); {fix}')
        else:
            resets.append('no optimizer state: the optimizer starts afresh '
                          '(momentum and adaptive moments at zero)')
        schedulers = runner.param_schedulers
        if schedulers:
            if 'param_schedulers' in checkpoint:
                saved, have = (_count(checkpoint['param_schedulers']),
                               _count(schedulers))
                if saved != have:
                    raise UserError(
                        f'{source} has {saved} parameter scheduler(s), '
                        f'this run {have}: the param_scheduler of {config} '
                        f'differs from its training\'s; {fix}')
            else:
                resets.append('no parameter scheduler state: the learning '
                              'rate schedule starts again from its first '
                              'step')
        if resets:
            runner.logger.warning(f'{source} has ' + '; '.join(resets))
        self._check_batch(runner, checkpoint, source)

    @staticmethod
    def _check_batch(runner, checkpoint: dict, source: str) -> None:
        saved_world = (checkpoint.get('rng_state', None)
                       or {}).get('world_size', None)
        before = _total_batch(checkpoint_config(checkpoint), saved_world)
        now = _total_batch(runner.cfg, runner.world_size)
        if before is None or now is None:
            return
        if before[1] is None:  # processes not saved: per process only
            before, now = (before[0], 1), (now[0], 1)
        if before[0] * before[1] == now[0] * now[1]:
            return

        def words(batch):
            return (f'a total batch of {batch[0] * batch[1]} ({batch[0]} per '
                    f'process x {batch[1]} process'
                    f'{"" if batch[1] == 1 else "es"})')

        runner.logger.warning(
            f'{source} was trained with {words(before)}, this run takes '
            f'{words(now)}: each epoch has another number of iterations, '
            'and the learning rate resumes as it was (the checkpoint\'s '
            'optimizer and schedule; --auto-scale-lr does not rescale a '
            'resumed run)')


def use_resume_check_hook(cfg: Config) -> None:
    """Put :class:`ResumeCheckHook` in ``cfg.custom_hooks`` (once: a
    config a resumed run dumped has it already).

    Args:
        cfg (Config): Modified in place.
    """
    hooks = [
        h for h in cfg.get('custom_hooks', None) or []
        if h.get('type') not in ('ResumeCheckHook', ResumeCheckHook)
    ]
    cfg.custom_hooks = hooks + [dict(type='ResumeCheckHook')]
