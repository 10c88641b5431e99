"""Train a video instance segmentation model.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--data-root DIR] [--partial-load] [--amp] [--auto-scale-lr]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

The config's ``load_from`` is loaded strictly: a checkpoint whose keys or
shapes differ from the model's is refused, naming the keys, unless the
model converts it from another layout (the COCO / 2D initialisations of
STC and CiCo; the loaded / skipped tensors are logged) or ``--partial-load``
is given; a checkpoint trained as another model is refused. ``--resume``
refuses a checkpoint that does not continue this run (its model, optimizer
parameter groups or schedulers differ; no ``message_hub``) and says in one
warning what starts afresh (no optimizer state) or changes (another total
batch): ``ResumeCheckHook``. A user mistake (a config value or registry
name, an option, a ``--launcher`` without its environment, a dataset or
checkpoint at fault) ends with one ``error: ...`` line naming it.

Multi-process training: ``tools/dist_train.sh CONFIG NUM_PROCS`` (works on
CPU-only hosts with the gloo backend too).
"""
# first, before torch loads: CPU threads sized to the free cores
import mmvis_clip  # noqa: F401  isort:skip  (also registers modules)
import argparse

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmvis_clip.engine import (add_runner_args, check_data_exists,
                               check_load_from, configure_resume, enable_amp,
                               enable_auto_scale_lr, relax_cuda_determinism,
                               setup_runner_cfg, use_checkpoint_load_hook,
                               use_resume_check_hook)
from mmvis_clip.utils.user_errors import exit_on_user_error


def parse_args():
    parser = argparse.ArgumentParser(description='Train a VIS model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate to the total batch (processes x '
        'train_dataloader.batch_size) from the config\'s '
        'auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work directory')
    add_runner_args(parser, 'train_cfg.max_epochs=3',
                    "the config's load_from")
    return parser.parse_args()


def check_training_inputs(cfg, args) -> None:
    """Fail before anything is built on missing data, and load the
    config's ``load_from`` (when not resuming) strictly, or in part with
    ``--partial-load``, through ``CheckpointLoadHook``."""
    check_data_exists(cfg, ('train_dataloader', 'val_dataloader'),
                      ('val_evaluator', ))
    if cfg.get('resume', False) or not cfg.get('load_from', None):
        return
    use_checkpoint_load_hook(
        cfg, cfg.load_from, partial=args.partial_load, converted=True)


def main():
    args = parse_args()
    with exit_on_user_error():
        train(args)


def train(args):
    cfg = setup_runner_cfg(args)

    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    configure_resume(cfg, args.resume)
    if cfg.get('resume', False):
        use_resume_check_hook(cfg)
    check_load_from(cfg, args.config)
    check_training_inputs(cfg, args)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    relax_cuda_determinism(cfg)
    runner.train()


if __name__ == '__main__':
    main()
