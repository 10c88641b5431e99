"""Test (and evaluate) a video instance segmentation model.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--format-only] [--show-dir DIR] [--data-root DIR] [--partial-load]
        [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

``--out DIR`` writes the predictions as ``DIR/results.json`` (YouTube-VIS
results format) and ``DIR/submission.zip`` (for the evaluation server);
``--format-only`` writes them without computing AP (for splits without
public ground truth). ``--show-dir DIR`` draws each video's predictions
(masks, boxes, classes, track ids) into ``DIR/<video name>.mp4``. Metrics
are printed and saved by mmengine in the work directory.

CHECKPOINT must fit the config's model exactly (the first keys that do not
are named) unless ``--partial-load`` is given. A user mistake (a config,
option, dataset or checkpoint at fault) ends with one ``error: ...`` line
naming it.
"""
import argparse

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmvis_clip  # noqa: F401  (registers modules and hooks)
from mmvis_clip.engine import (add_runner_args, check_data_exists,
                               setup_runner_cfg, use_checkpoint_load_hook)
from mmvis_clip.utils.user_errors import exit_on_user_error


def parse_args():
    parser = argparse.ArgumentParser(description='Test a VIS model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='directory to write results.json and submission.zip')
    parser.add_argument(
        '--format-only',
        action='store_true',
        help='only write the results, do not evaluate')
    parser.add_argument(
        '--show-dir',
        help='directory to write each video with its predictions drawn '
        '(<video name>.mp4)')
    add_runner_args(parser, 'model.tracker.num_frames_retain=5',
                    'CHECKPOINT')
    args = parser.parse_args()
    if args.format_only and not args.out:
        parser.error('--format-only needs --out DIR for the results')
    return args


def main():
    args = parse_args()
    with exit_on_user_error():
        test(args)


def test(args):
    cfg = setup_runner_cfg(args)
    # CHECKPOINT only (a config dumped by a resumed run has resume=True,
    # with which mmengine would load the work directory's latest one)
    cfg.resume = False
    use_checkpoint_load_hook(cfg, args.checkpoint, partial=args.partial_load)

    if args.out or args.format_only:
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        for evaluator in evaluators:
            if args.out:
                evaluator['outfile_prefix'] = args.out
            if args.format_only:
                evaluator['format_only'] = True

    check_data_exists(cfg, ('test_dataloader', ), ('test_evaluator', ))

    if args.show_dir:
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(type='VideoRenderHook', out_dir=args.show_dir)
        ]

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.test()


if __name__ == '__main__':
    main()
