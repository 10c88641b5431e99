"""Test (and evaluate) a video instance segmentation model.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--format-only] [--show-dir DIR] [--out-masks DIR] [--score-thr S]
        [--data-root DIR] [--partial-load] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

``--out DIR`` writes the predictions as ``DIR/results.json`` (YouTube-VIS
results format) and ``DIR/submission.zip`` (for the evaluation server);
``--format-only`` writes them without computing AP (for splits without
public ground truth). ``--show-dir DIR`` draws each video's predictions
(masks, boxes, classes, track ids) into ``DIR/<video name>.mp4``.
``--out-masks DIR`` (with ``--out``) decodes ``results.json`` into
per-frame instance-id PNGs ``DIR/Annotations/<video>/<frame>.png`` and the
class map ``DIR/classes.json``, the layout ``frames2ytvis.py`` reads (ids,
overlaps and classes: :mod:`mmvis_clip.evaluation.functional.
vis_results_masks`); it must be a new or empty folder, not among the
inputs. ``--score-thr`` is the least score of the tracks ``--out-masks``
writes (their ``score`` in ``results.json``) and of the instances
``--show-dir`` draws. Metrics are printed and saved by mmengine in the
work directory. ``--out`` and ``--show-dir`` must not be (or lie inside)
a test frame folder, and ``--out``'s files must not be an input (the
config, the checkpoint, an annotation file): refused before anything is
built.

CHECKPOINT must fit the config's model exactly (the first keys that do not
are named) unless ``--partial-load`` is given, and must have been trained on
the test dataset's classes (the ``dataset_meta`` of its meta, when it has
one). A user mistake (a config, option, dataset or checkpoint at fault)
ends with one ``error: ...`` line naming it.
"""
# first, before torch loads: CPU threads sized to the free cores
import mmvis_clip  # noqa: F401  isort:skip  (also registers modules)
import argparse
import math
import os.path as osp
from typing import Tuple

from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmvis_clip.engine import (add_runner_args, check_data_exists,
                               setup_runner_cfg, use_checkpoint_load_hook)
from mmvis_clip.evaluation import VISMetric
from mmvis_clip.structures import (dataset_video_frames,
                                   write_results_as_id_masks)
from mmvis_clip.structures.vis_results_io import RESULTS_NAME, SUBMISSION_NAME
from mmvis_clip.utils.atomic_io import (refuse_output_folder,
                                        refuse_overwriting_inputs,
                                        refuse_writing_into_inputs)
from mmvis_clip.utils.user_errors import UserError, exit_on_user_error


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
    parser.add_argument(
        '--out-masks',
        help='new or empty folder for the results as per-frame instance-id '
        'PNGs (Annotations/<video>/<frame>.png) and classes.json, the '
        'layout frames2ytvis.py reads; needs --out')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='--out-masks: write the tracks scoring at least this; '
        '--show-dir: draw the instances scoring at least this (default '
        '0.3)')
    add_runner_args(parser, 'model.tracker.num_frames_retain=5',
                    'CHECKPOINT')
    args = parser.parse_args()
    if args.format_only and not args.out:
        parser.error('--format-only needs --out DIR for the results')
    if args.out_masks and not args.out:
        parser.error('--out-masks needs --out DIR: the masks are decoded '
                     f'from DIR/{RESULTS_NAME}')
    if not (math.isfinite(args.score_thr) and 0 <= args.score_thr <= 1):
        parser.error(f'--score-thr must be in [0, 1], got {args.score_thr}')
    return args


def main():
    args = parse_args()
    with exit_on_user_error():
        test(args)


def test(args):
    cfg = setup_runner_cfg(args, tool='test')
    # CHECKPOINT only (a config dumped by a resumed run has resume=True,
    # with which mmengine would load the work directory's latest one)
    cfg.resume = False
    use_checkpoint_load_hook(
        cfg, args.checkpoint, partial=args.partial_load, check_classes=True)

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

    check_output_dirs(cfg, args)
    if args.show_dir:
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(
                type='VideoRenderHook',
                out_dir=args.show_dir,
                score_thr=args.score_thr)
        ]
    if args.out_masks:
        check_out_masks(cfg, args)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.test()
    if args.out_masks and is_main_process():
        write_out_masks(runner, args)


def _evaluator_types(cfg) -> list:
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, (list, tuple)):
        evaluators = [evaluators]
    return [evaluator.get('type') for evaluator in evaluators]


def _test_datasets(dataset) -> list:
    """The dataset configs inside ``dataset`` (wrappers unwrapped)."""
    if not isinstance(dataset, dict):
        return []
    inner = dataset.get('datasets') or [dataset.get('dataset')]
    if any(isinstance(d, dict) for d in inner):
        return [d for item in inner for d in _test_datasets(item)]
    return [dataset]


def test_inputs(cfg, args) -> Tuple[list, list]:
    """What the test reads: ``(files, folders)``, each a list of (what,
    path): the config, the checkpoint, the datasets' and evaluators'
    annotation files, and the test frame folders (``data_root`` +
    ``data_prefix.img_path``)."""
    files = [('config', args.config), ('checkpoint', args.checkpoint)]
    folders = []
    for dataset in _test_datasets(cfg.test_dataloader.get('dataset')):
        root = dataset.get('data_root') or ''
        image_prefix = (dataset.get('data_prefix') or {}).get('img_path')
        if isinstance(image_prefix, str):
            folders.append(('test frame folder',
                            osp.join(root, image_prefix)))
        if isinstance(dataset.get('ann_file'), str):
            files.append(('test annotation file',
                          osp.join(root, dataset.ann_file)))
    evaluators = cfg.get('test_evaluator') or []
    for evaluator in evaluators if isinstance(evaluators,
                                              (list, tuple)) else [evaluators]:
        if isinstance(evaluator, dict) and isinstance(
                evaluator.get('ann_file'), str):
            files.append(('test_evaluator.ann_file', evaluator.ann_file))
    return files, folders


def check_output_dirs(cfg, args) -> None:
    """Refuse ``--out`` and ``--show-dir`` folders that are or lie inside
    a test frame folder (:func:`~mmvis_clip.utils.atomic_io.
    refuse_writing_into_inputs`), and ``--out`` files that are inputs,
    before anything is built."""
    files, folders = test_inputs(cfg, args)
    if args.show_dir:
        refuse_writing_into_inputs('--show-dir', args.show_dir, folders)
        if osp.exists(args.show_dir) and not osp.isdir(args.show_dir):
            raise UserError(f'--show-dir {args.show_dir} is a file; '
                            'expected a folder for the videos')
    if args.out:
        refuse_writing_into_inputs('--out', args.out, folders)
        refuse_overwriting_inputs(
            {
                f'--out {name}': osp.join(args.out, name)
                for name in (RESULTS_NAME, SUBMISSION_NAME)
            }, files)


def check_out_masks(cfg, args) -> None:
    """Refuse an ``--out-masks`` folder that could mix with the inputs or
    the other outputs, or a config without a VISMetric, before testing."""
    if not any(t in ('VISMetric', VISMetric) for t in _evaluator_types(cfg)):
        raise UserError(f'--out-masks needs a VISMetric test_evaluator (it '
                        f'writes {RESULTS_NAME}); {args.config} has '
                        f'{_evaluator_types(cfg)}')
    files, folders = test_inputs(cfg, args)
    inputs = files + folders
    refuse_output_folder(
        '--out-masks', args.out_masks, inputs, {
            '--out': args.out,
            '--work-dir': cfg.work_dir,
            '--show-dir': args.show_dir
        })


def write_out_masks(runner, args) -> None:
    """Decode the results the metric wrote into ``--out-masks``."""
    metric = next(m for m in runner.test_evaluator.metrics
                  if isinstance(m, VISMetric))
    dataset = runner.test_dataloader.dataset
    categories = [
        dict(id=cat_id, name=name) for cat_id, name in zip(
            metric.label_category_ids(), dataset.metainfo['classes'])
    ]
    summary = write_results_as_id_masks(
        osp.join(args.out, RESULTS_NAME), dataset_video_frames(dataset),
        categories, args.out_masks, args.score_thr)
    print_log(
        f'instance-id masks written to {args.out_masks}: '
        f'{summary["videos"]} videos, {summary["frames"]} frames, '
        f'{summary["instances"]} tracks (score >= {args.score_thr}; '
        f'{summary["below_thr"]} below it, {summary["hidden"]} covered by '
        'higher-scoring tracks in every frame)',
        logger='current')


if __name__ == '__main__':
    main()
