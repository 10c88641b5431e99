"""Config and process-group set-up shared by ``tools/train.py``/``test.py``."""
import os
import os.path as osp
import shutil
import subprocess
from argparse import ArgumentParser, Namespace
from typing import Optional, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from ..utils.checkpoint_loading import check_checkpoint_file
from ..utils.user_errors import UserError
from .checkpoint_load_hook import CheckpointLoadHook
from .clip_length import apply_clip_length
from .config_checks import (apply_data_root, check_config_values, load_config,
                            merge_cfg_options, split_data_root)

#: The environment variables the processes of each launcher get from what
#: starts them, that starter, and how to start them (``{tool}``: ``train``
#: / ``test``).
LAUNCHER_ENV = {
    'pytorch': (('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
                'torchrun', 'tools/dist_{tool}.sh CONFIG{ckpt} NUM_PROCS'),
    'slurm': (('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'), 'srun',
              'tools/slurm_{tool}.sh PARTITION JOB_NAME CONFIG{ckpt}'),
    'mpi': (('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
             'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR'), 'mpirun',
            'mpirun (with MASTER_ADDR set)'),
}
#: Those of :data:`LAUNCHER_ENV` that hold whole numbers.
_NUMERIC_ENV = ('RANK', 'WORLD_SIZE', 'MASTER_PORT', 'LOCAL_RANK',
                'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID',
                'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                'OMPI_COMM_WORLD_LOCAL_RANK')


def check_launcher_env(launcher: str, tool: str = 'train') -> None:
    """Refuse, before anything is read or built, a ``--launcher`` whose
    processes were not started by it.

    Args:
        launcher (str): ``--launcher``: ``none``, ``pytorch``, ``slurm`` or
            ``mpi``.
        tool (str): ``'train'`` or ``'test'``, for the command the message
            suggests.

    Raises:
        UserError: One line naming the missing (or not numeric)
            environment variables and how to start the processes; or a
            ``LOCAL_RANK`` beyond this host's GPUs.
    """
    if launcher not in LAUNCHER_ENV:
        return
    names, starter, command = LAUNCHER_ENV[launcher]
    command = command.format(
        tool=tool, ckpt=' CHECKPOINT' if tool == 'test' else
        (' WORK_DIR' if launcher == 'slurm' else ''))
    how = (f'start it with {command}, or leave out --launcher for one '
           'process')
    missing = [name for name in names if not os.environ.get(name)]
    if launcher == 'slurm' and 'MASTER_ADDR' not in os.environ and \
            shutil.which('scontrol') is None:
        missing.append('MASTER_ADDR (scontrol, which finds it, is not '
                       'on PATH)')
    if missing:
        raise UserError(f'--launcher {launcher}: {", ".join(missing)} '
                        f'{"is" if len(missing) == 1 else "are"} not set: '
                        f'this process was not started by {starter}; '
                        f'{how}')
    for name in _NUMERIC_ENV:
        value = os.environ.get(name)
        if value is not None and not value.strip().isdigit():
            raise UserError(f'--launcher {launcher}: the environment '
                            f'variable {name}={value!r} is not a whole '
                            f'number; {how}')
    if launcher == 'pytorch' and torch.cuda.is_available():
        local_rank = int(os.environ.get('LOCAL_RANK', '0'))
        if local_rank >= torch.cuda.device_count():
            raise UserError(
                f'--launcher pytorch: LOCAL_RANK={local_rank}, but this host '
                f'has {torch.cuda.device_count()} GPU(s); start at most one '
                f'process per GPU (tools/dist_{tool}.sh CONFIG NUM_GPUS)')


def init_dist_on_cpu(launcher: str, backend: str = 'gloo') -> bool:
    """Start ``torch.distributed`` with ``backend`` on a host without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` for the
    ``pytorch`` and ``slurm`` launchers, which fails on CPU-only builds of
    torch. On such hosts this function initialises the default process
    group itself (from torchrun's or slurm's environment), and the Runner
    then skips its own initialisation. On CUDA hosts it does nothing.

    Returns:
        bool: whether a process group was initialised here.
    """
    if (launcher == 'none' or torch.cuda.is_available()
            or torch_dist.is_initialized()):
        return False
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        if 'MASTER_ADDR' not in os.environ:
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                'scontrol show hostname '
                f'{os.environ["SLURM_NODELIST"]} | head -n1')
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher != 'pytorch':
        raise UserError(f'launcher {launcher!r} is not supported on a host '
                        "without CUDA; use 'pytorch' or 'slurm'")
    torch_dist.init_process_group(backend=backend)
    return True


def add_runner_args(parser: ArgumentParser, cfg_options_example: str,
                    partial_load_help: str) -> None:
    """Add the options ``tools/train.py`` and ``tools/test.py`` share:
    ``--work-dir``, ``--data-root``, ``--partial-load``, ``--cfg-options``,
    ``--launcher`` and ``--local-rank`` (which torch's launchers pass;
    exported as ``LOCAL_RANK`` by :func:`setup_runner_cfg`).

    Args:
        parser (ArgumentParser): The tool's parser.
        cfg_options_example (str): An example for ``--cfg-options``' help.
        partial_load_help (str): What ``--partial-load`` applies to.
    """
    parser.add_argument(
        '--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument(
        '--data-root',
        help='the dataset folder, in place of the config\'s data_root: it '
        'reaches every dataset and evaluator path of the config (as '
        '--cfg-options data_root=DIR does)')
    parser.add_argument(
        '--partial-load',
        action='store_true',
        help=f'load only what fits of {partial_load_help} and log the '
        'loaded / skipped tensors; without it a checkpoint whose keys or '
        'shapes differ from the model\'s is refused')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=f'override config settings, e.g. {cfg_options_example}')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def setup_runner_cfg(args: Namespace, tool: str = 'train') -> Config:
    """Load ``args.config`` and apply the options both tools share.

    Handles ``--launcher`` (its environment checked first:
    :func:`check_launcher_env`), ``--data-root`` (and ``data_root`` in
    ``--cfg-options``, :func:`~.config_checks.apply_data_root`),
    ``--cfg-options`` (checked first:
    :func:`~.config_checks.check_cfg_options`) and ``--work-dir`` (default
    ``./work_dirs/<config name>``); the final config's registry names and
    values are checked (:func:`~.config_checks.check_config_values`). With
    a launcher it selects :class:`DeviceAwareDistributedDataParallel`
    (unless the config names a wrapper) and, on CPU-only hosts, the gloo
    backend.

    Args:
        args (Namespace): The tool's arguments (:func:`add_runner_args`).
        tool (str): ``'train'`` or ``'test'``, for messages.

    Raises:
        UserError: A config that cannot be read, a bad option or value, a
            launcher without its environment.
        FileNotFoundError: The config does not exist.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    check_launcher_env(args.launcher, tool)
    cfg = load_config(args.config)
    cfg.launcher = args.launcher
    data_root, options = split_data_root(
        getattr(args, 'data_root', None), args.cfg_options)
    if data_root is not None:
        changed = apply_data_root(cfg, data_root)
        print_log(
            f'data root {cfg.data_root}: ' + ', '.join(changed),
            logger='current')
    merge_cfg_options(cfg, options)
    apply_clip_length(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    check_config_values(cfg, options)
    if args.launcher != 'none':
        if cfg.get('model_wrapper_cfg', None) is None:
            cfg.model_wrapper_cfg = dict(
                type='DeviceAwareDistributedDataParallel',
                broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters',
                                               False))
        if not torch.cuda.is_available():
            env_cfg = cfg.setdefault('env_cfg', dict())
            env_cfg.setdefault('dist_cfg', dict())['backend'] = 'gloo'
            init_dist_on_cpu(args.launcher, backend='gloo')
    return cfg


def _is_local_path(load_from: Optional[str]) -> bool:
    """Whether ``load_from`` is a local file path (not empty, not a URL
    such as ``https://`` or ``torchvision://``, not an ``mmdet::`` path)."""
    return bool(load_from) and '://' not in load_from \
        and '::' not in load_from


def load_from_producer(load_from: Optional[str],
                       config: str) -> Optional[Tuple[str, str]]:
    """The config whose training writes the checkpoint ``load_from`` names.

    A local ``load_from`` of the form ``work_dirs/<name>/<file>`` is the
    checkpoint a config ``<name>.py`` writes when trained with its default
    work directory (e.g. a synthetic CiCo config starts from its frame-level
    model's ``epoch_8.pth``). Only configs in the directory of ``config``
    are looked for.

    Args:
        load_from (str, optional): The ``load_from`` of ``config``.
        config (str): Path of the config that sets it.

    Returns:
        tuple[str, str] | None: ``(producer config path, checkpoint file
        name)``, or None when ``load_from`` is not of that form or no such
        config exists.
    """
    if not _is_local_path(load_from):
        return None
    parts = osp.normpath(load_from).split(os.sep)
    if len(parts) != 3 or parts[0] != 'work_dirs':
        return None
    producer = osp.join(osp.dirname(config), parts[1] + '.py')
    if not osp.isfile(producer):
        return None
    return producer, parts[2]


def check_load_from(cfg: Config, config: str) -> None:
    """Fail before building anything when ``cfg.load_from`` is a local file
    that does not exist, naming the config to train first when there is one
    (see :func:`load_from_producer`).

    A local file that exists must look like a checkpoint
    (:func:`~mmvis_clip.utils.checkpoint_loading.check_checkpoint_file`).

    Raises:
        FileNotFoundError: The missing checkpoint, with the hint.
        CheckpointError: A directory, an empty or truncated file.
    """
    load_from = cfg.get('load_from', None)
    if not _is_local_path(load_from):
        return
    if osp.exists(load_from):
        check_checkpoint_file(load_from)
        return
    message = f'{config}: load_from {load_from!r} does not exist.'
    producer = load_from_producer(load_from, config)
    if producer is not None:
        message += (f' It is the checkpoint of {producer[0]}: train that '
                    f'config first (python tools/train.py {producer[0]}), '
                    'or give another checkpoint with --cfg-options '
                    'load_from=PATH.')
    raise FileNotFoundError(message)


def use_checkpoint_load_hook(cfg: Config,
                             checkpoint: str,
                             partial: bool = False,
                             converted: bool = False,
                             check_classes: bool = False) -> None:
    """Load ``checkpoint`` with :class:`CheckpointLoadHook` (strictly,
    unless ``partial``) in place of mmengine's ``load_from``.

    Sets ``cfg.load_from`` to None and puts the hook in
    ``cfg.custom_hooks`` in place of any ``CheckpointLoadHook`` there (a
    config a run dumped into its work directory has the one of its
    ``load_from``).

    Args:
        cfg (Config): Modified in place.
        checkpoint (str): The checkpoint (path, URL or mmengine scheme).
        partial (bool): Load what fits of it (``--partial-load``).
        converted (bool): Accept a checkpoint the model converts from
            another layout (an initialisation, ``load_from``).
        check_classes (bool): Refuse, before testing, a checkpoint trained
            on other classes than the test dataset's (``tools/test.py``).

    Raises:
        FileNotFoundError: A local checkpoint that does not exist.
        CheckpointError: A local file that is not a checkpoint.
    """
    check_checkpoint_file(checkpoint)
    cfg.load_from = None
    hooks = [
        h for h in cfg.get('custom_hooks', None) or []
        if h.get('type') not in ('CheckpointLoadHook', CheckpointLoadHook)
    ]
    hook = dict(
        type='CheckpointLoadHook',
        checkpoint=checkpoint,
        partial=partial,
        converted=converted)
    if check_classes:
        hook['check_classes'] = True
    cfg.custom_hooks = hooks + [hook]


def enable_amp(cfg: Config) -> None:
    """Switch ``cfg.optim_wrapper`` to its mixed-precision form (``--amp``).

    ``OptimWrapper`` becomes mmengine's ``AmpOptimWrapper`` and
    ``SeparateGradClipOptimWrapper`` becomes
    ``SeparateGradClipAmpOptimWrapper`` (the same per-module clipping),
    with a dynamic loss scale unless the config sets one.

    Raises:
        UserError: The wrapper type has no AMP form, or
            ``optim_wrapper.dtype`` is bfloat16 with CUDA: mmcv's CUDA
            focal-loss and RoIAlign kernels take float, double and half
            only.
    """
    from .separate_grad_clip_optim_wrapper import AMP_WRAPPERS
    wrapper = cfg.optim_wrapper
    kind = wrapper.get('type', 'OptimWrapper')
    if kind not in AMP_WRAPPERS:
        raise UserError(f'--amp: optim_wrapper.type {kind!r} has no '
                        f'mixed-precision form (known: '
                        f'{", ".join(sorted(AMP_WRAPPERS))}).')
    wrapper.type = AMP_WRAPPERS[kind]
    wrapper.setdefault('loss_scale', 'dynamic')
    dtype = wrapper.get('dtype', None)
    if torch.cuda.is_available() and str(dtype).replace('torch.',
                                                        '') == 'bfloat16':
        raise UserError(
            '--amp with optim_wrapper.dtype=bfloat16: mmcv 2.1\'s CUDA '
            'sigmoid focal loss and RoIAlign kernels take float, double and '
            'half only; use dtype=float16 (the default).')


def enable_auto_scale_lr(cfg: Config) -> float:
    """Let mmengine's Runner scale the learning rate to the actual total
    batch (``--auto-scale-lr``, mmdet's convention).

    ``cfg.auto_scale_lr.base_batch_size`` is the total batch the config's
    learning rate is set for (GPUs x samples per GPU of its name, e.g. 16
    for ``_8xb2-``); the Runner multiplies every parameter group's LR by
    ``world_size * train_dataloader.batch_size / base_batch_size`` before
    the parameter schedulers are built.

    Args:
        cfg (Config): The training config; ``auto_scale_lr.enable`` is set.

    Returns:
        float: ``base_batch_size``.

    Raises:
        UserError: The config has no ``auto_scale_lr.base_batch_size``, or
            it is not a positive number.
    """
    name = cfg.filename or 'the config'
    auto_scale_lr = cfg.get('auto_scale_lr', None)
    if not isinstance(auto_scale_lr, dict) or \
            'base_batch_size' not in auto_scale_lr:
        raise UserError(
            f'--auto-scale-lr: {name} has no auto_scale_lr.base_batch_size '
            '(the total batch its learning rate is set for); add '
            'auto_scale_lr = dict(enable=False, base_batch_size=N)')
    base = auto_scale_lr['base_batch_size']
    if isinstance(base, bool) or not isinstance(base, (int, float)) or \
            base <= 0:
        raise UserError(f'--auto-scale-lr: {name}: '
                        f'auto_scale_lr.base_batch_size is {base!r}, not a '
                        'positive number')
    auto_scale_lr['enable'] = True
    return base


#: The ops of this package's models whose CUDA backward torch implements
#: only non-deterministically (bilinear upsampling in the mask heads and
#: the FPN: mmdet's ``aligned_bilinear``, ``F.interpolate``).
NONDETERMINISTIC_CUDA_OPS = ('upsample_bilinear2d backward', )


def relax_cuda_determinism(cfg: Config) -> bool:
    """With ``randomness.deterministic=True`` on CUDA, let the ops in
    :data:`NONDETERMINISTIC_CUDA_OPS` run (torch warns once each) instead
    of stopping at the first backward, and say so in one message.

    mmengine's Runner calls ``torch.use_deterministic_algorithms(True)``;
    torch then raises on the first op without a deterministic CUDA
    implementation. Call this after the Runner is built.

    Returns:
        bool: Whether it changed torch's setting.
    """
    if not (cfg.get('randomness', {}).get('deterministic', False)
            and torch.cuda.is_available()):
        return False
    torch.use_deterministic_algorithms(True, warn_only=True)
    from mmengine.logging import print_log
    print_log(
        'randomness.deterministic=True on CUDA: deterministic algorithms '
        'everywhere torch has them; these run non-deterministically (torch '
        'warns): ' + ', '.join(NONDETERMINISTIC_CUDA_OPS) + '. A run is '
        'then repeatable up to those ops (see docs/installation.md, '
        '"Mixed precision, determinism, several GPUs").',
        logger='current')
    return True
