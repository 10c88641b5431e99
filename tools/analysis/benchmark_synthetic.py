"""Train and evaluate several configs on the synthetic dataset, same budget.

Every config is trained with ``tools/train.py`` using the same seed and its
own schedule (the synthetic configs share one), tested with
``tools/test.py`` on the synthetic valid split, and evaluated with the
YouTube-VIS protocol. The AP table is printed (markdown) and written to
``WORK_DIR/results.md`` and ``WORK_DIR/results.json``.

Usage:
    python tools/analysis/benchmark_synthetic.py --preset stc [--jobs 2]
    python tools/analysis/benchmark_synthetic.py --preset cico [--jobs 2]
    python tools/analysis/benchmark_synthetic.py CONFIG [CONFIG ...]
        [--eval-data-root DIR [DIR ...]] [--test-variant NAME:K=V[,K=V]]
        [--hota]

Each trained checkpoint is tested on the valid split of every
``--eval-data-root`` (default: ``--data-root``; e.g. a larger valid split
or the ``association`` preset of ``make_synthetic_vis.py``), once per
``--test-variant`` (test-time ``--cfg-options`` such as
``cosine:model.tracker.embed_similarity=cosine``; default: the config as it
is). ``--hota`` adds HOTA, DetA and AssA (TrackEval) to the table.

A config whose ``load_from`` is the checkpoint of another config
(``work_dirs/<name>/<file>``, e.g. the synthetic CiCo configs, which start
from their frame-level models) is trained after that config, from its
checkpoint in ``WORK_DIR/<name>/``; the other config is added to the runs
when not given. A config whose final checkpoint (``epoch_<max_epochs>.pth``)
already exists in its work directory is not trained again (delete
``WORK_DIR/<config name>`` to retrain); one whose training stopped earlier
is resumed from its last checkpoint, and results older than the checkpoint
are tested again. With ``--jobs N`` the runs go N at a time, each with
``--threads`` CPU threads.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mmengine.config import Config

from mmvis_clip.engine import load_from_producer
from mmvis_clip.evaluation.functional import evaluate_vis
from mmvis_clip.utils.atomic_io import write_bytes_atomic
from mmvis_clip.utils.machine_load import (describe_machine_load,
                                           measure_machine_load)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.realpath(__file__))))

PRESETS = {
    'stc': [
        'configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py',
        'configs/stc/stc_r18_fpn_no-contrastive_1xb4-8e_synthetic.py',
        'configs/stc/stc_r18_fpn_no-bidirection_1xb4-8e_synthetic.py',
        'configs/stc/stc_r18_fpn_no-consistency_1xb4-8e_synthetic.py',
        'configs/masktrack_rcnn/masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py',
    ],
    # the FiFo 8e models initialise the 4e ones (CiCo and FiFo alike)
    'cico': [
        'configs/cico/cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py',
        'configs/cico/cico-condinst_r18_fpn_fifo_1xb4-8e_synthetic.py',
        'configs/cico/cico-yolact_r18_fpn_1xb4-4e_synthetic.py',
        'configs/cico/cico-condinst_r18_fpn_1xb4-4e_synthetic.py',
        'configs/cico/cico-yolact_r18_fpn_fifo_1xb4-4e_synthetic.py',
        'configs/cico/cico-condinst_r18_fpn_fifo_1xb4-4e_synthetic.py',
        'configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py',
        'configs/masktrack_rcnn/masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py',
    ],
}
COLUMNS = ('AP', 'AP50', 'AP75', 'AR1', 'AR10')
HOTA_COLUMNS = ('HOTA', 'DetA', 'AssA')
PRESETS['stc-ablations'] = PRESETS['stc'][:4]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', help='configs to compare')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='a named list of configs')
    parser.add_argument('--data-root', default='data/synthetic_vis/')
    parser.add_argument('--work-dir', default='work_dirs/benchmark')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--eval-data-root',
        nargs='+',
        default=None,
        help='synthetic datasets whose valid split each checkpoint is '
        'tested on (default: --data-root)')
    parser.add_argument(
        '--test-variant',
        action='append',
        default=None,
        metavar='NAME:K=V[,K=V]',
        help='test each checkpoint also with these --cfg-options, e.g. '
        'cosine:model.tracker.embed_similarity=cosine (repeatable; '
        'default: the config as it is)')
    parser.add_argument(
        '--hota',
        action='store_true',
        help='also report HOTA, DetA and AssA (TrackEval)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at the same time')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads per run (default: cores / jobs)')
    args = parser.parse_args()
    configs = list(args.configs) + PRESETS.get(args.preset, [])
    if not configs:
        parser.error('give configs or --preset')
    for cfg in configs:
        if not osp.isfile(osp.join(REPO, cfg)) and not osp.isfile(cfg):
            parser.error(f'config {cfg} does not exist')
    args.configs = configs
    args.data_root = _as_folder(args.data_root)
    args.eval_data_roots = [
        _as_folder(root) for root in (args.eval_data_root or [args.data_root])
    ]
    for root in args.eval_data_roots:
        if not osp.isfile(root + 'annotations/valid.json'):
            parser.error(f'--eval-data-root {root}: no '
                         f'{root}annotations/valid.json')
    try:
        args.test_variants = parse_test_variants(args.test_variant)
    except ValueError as err:
        parser.error(str(err))
    return args


def _as_folder(path):
    return path if path.endswith('/') else path + '/'


def parse_test_variants(specs):
    """Parse ``--test-variant`` values.

    Args:
        specs (list[str] | None): ``NAME:K=V[,K=V]`` strings (``NAME:`` for
            the config as it is).

    Returns:
        list[tuple[str, list[str]]]: ``(name, cfg-options)`` pairs;
        ``[('default', [])]`` when ``specs`` is empty.

    Raises:
        ValueError: A value without ``NAME:``, an option without ``=`` or a
            name used twice.
    """
    if not specs:
        return [('default', [])]
    variants = []
    for spec in specs:
        name, sep, options = spec.partition(':')
        if not sep or not name:
            raise ValueError(f'--test-variant {spec!r}: expected '
                             'NAME:K=V[,K=V]')
        options = [opt for opt in options.split(',') if opt]
        bad = [opt for opt in options if '=' not in opt]
        if bad:
            raise ValueError(f'--test-variant {spec!r}: {bad[0]!r} is not '
                             'K=V')
        if name in (v[0] for v in variants):
            raise ValueError(f'--test-variant name {name!r} given twice')
        variants.append((name, options))
    return variants


def data_options(data_root):
    ann = data_root + 'annotations/valid.json'
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}'
    ]


def config_name(config):
    return osp.splitext(osp.basename(config))[0]


def plan_runs(configs, work_dir):
    """Order the runs so that each config is trained after the config whose
    checkpoint it starts from (see :func:`load_from_producer`).

    Args:
        configs (list[str]): Config paths, absolute or relative to the
            repository.
        work_dir (str): The benchmark's work directory.

    Returns:
        list[list[tuple[str, str | None]]]: Waves of ``(config, load_from)``
        runs, configs as paths relative to the repository when inside it; a
        wave's runs need only checkpoints of earlier waves. ``load_from`` is
        the producer's checkpoint in ``work_dir`` (None for a config that
        does not start from another config's checkpoint). Producers not in
        ``configs`` are added; each config runs once.
    """
    depth, load_from = {}, {}

    def visit(path, chain=()):
        if path in depth:
            return depth[path]
        if path in chain:
            raise ValueError('configs starting from each other: ' +
                             ' -> '.join(chain + (path, )))
        producer = load_from_producer(
            Config.fromfile(path).get('load_from', None), path)
        if producer is None:
            depth[path], load_from[path] = 0, None
        else:
            parent = osp.realpath(producer[0])
            depth[path] = visit(parent, chain + (path, )) + 1
            load_from[path] = osp.join(work_dir, config_name(parent),
                                       producer[1])
        return depth[path]

    for config in configs:
        visit(osp.realpath(config if osp.isfile(config) else osp.join(
            REPO, config)))
    waves = [[] for _ in range(max(depth.values()) + 1)]
    for path, level in depth.items():
        shown = osp.relpath(path, REPO) if path.startswith(REPO +
                                                           os.sep) else path
        waves[level].append((shown, load_from[path]))
    return waves


#: ``Config.fromfile`` is not thread-safe: resolving ``mmdet::`` bases goes
#: through pkg_resources, which fails now and then ("Expected str,
#: Requirement, or Distribution") when two threads parse configs at once.
_CONFIG_LOCK = threading.Lock()


def final_checkpoint_name(config):
    """The checkpoint a full training of ``config`` ends with:
    ``epoch_<max_epochs>.pth`` (``iter_<max_iters>.pth`` for iteration-based
    training)."""
    with _CONFIG_LOCK:
        train_cfg = Config.fromfile(config).train_cfg
    if train_cfg.get('max_epochs'):
        return f'epoch_{train_cfg["max_epochs"]}.pth'
    return f'iter_{train_cfg["max_iters"]}.pth'


def training_state(work_dir, final_name):
    """``'new'`` (no checkpoint in ``work_dir``), ``'resume'`` (the last
    checkpoint is not ``final_name``: training stopped early) or
    ``'done'``."""
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        return 'new'
    with open(last) as f:
        checkpoint = f.read().strip()
    if osp.basename(checkpoint) == final_name and osp.isfile(checkpoint):
        return 'done'
    return 'resume'


def results_are_current(results_json, checkpoint):
    """Whether ``results_json`` exists and was written after
    ``checkpoint`` (else it came from an earlier checkpoint)."""
    return osp.isfile(results_json) and \
        osp.getmtime(results_json) >= osp.getmtime(checkpoint)


def run_one(config, load_from, args, threads):
    """Train ``config`` (unless its checkpoint exists) and test it on every
    evaluation data root with every test variant.

    Returns:
        list[dict]: One row per (data root, variant): config, name,
        checkpoint, train_seconds, data_root, variant and the stats.
    """
    name = config_name(config)
    path = config if osp.isabs(config) else osp.join(REPO, config)
    work_dir = osp.join(args.work_dir, name)
    os.makedirs(work_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads),
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    seed = [f'randomness.seed={args.seed}']
    train_options = [f'load_from={load_from}'] if load_from else []
    last = osp.join(work_dir, 'last_checkpoint')
    start = time.time()
    train_seconds = None
    state = training_state(work_dir, final_checkpoint_name(path))
    if state != 'done':
        resume = ['--resume'] if state == 'resume' else []
        with open(osp.join(work_dir, 'train.log'),
                  'a' if resume else 'w') as log:
            subprocess.run(
                [
                    sys.executable,
                    osp.join(REPO, 'tools/train.py'), path, '--work-dir',
                    work_dir
                ] + resume + ['--cfg-options'] + seed +
                data_options(args.data_root) + train_options,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True)
        if not resume:  # a resumed run's time is not a training's
            train_seconds = time.time() - start
    with open(last) as f:
        checkpoint = f.read().strip()
    rows = []
    for data_root in args.eval_data_roots:
        for variant, options in args.test_variants:
            out_dir = osp.join(work_dir,
                               results_folder(data_root, variant, args))
            if not results_are_current(
                    osp.join(out_dir, 'results.json'), checkpoint):
                with open(out_dir + '.log', 'w') as log:
                    subprocess.run(
                        [
                            sys.executable,
                            osp.join(REPO, 'tools/test.py'), path,
                            checkpoint, '--work-dir', work_dir, '--out',
                            out_dir, '--cfg-options'
                        ] + seed + data_options(data_root) + options,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        check=True)
            stats = evaluate_vis(
                data_root + 'annotations/valid.json',
                osp.join(out_dir, 'results.json'),
                hota=args.hota)
            print(f'[done] {name} on {data_root} ({variant}): AP '
                  f'{stats["AP"]:.4f}', flush=True)
            rows.append(
                dict(config=config, name=name, checkpoint=checkpoint,
                     train_seconds=train_seconds, data_root=data_root,
                     variant=variant, **stats))
    return rows


def results_folder(data_root, variant, args):
    """``results`` for the training data root and the default variant (the
    folder earlier versions wrote), else ``results-<data>-<variant>``."""
    if data_root == args.data_root and variant == 'default':
        return 'results'
    return f'results-{osp.basename(osp.normpath(data_root))}-{variant}'


def format_table(rows):
    """Markdown table of the rows of :func:`run_one`; the data root and
    variant columns appear when the rows have more than one of them, the
    HOTA columns when the rows have them."""
    columns = COLUMNS + tuple(c for c in HOTA_COLUMNS if c in rows[0])
    extra = [key for key in ('data_root', 'variant')
             if len({row.get(key) for row in rows}) > 1]
    head = '| config | ' + ''.join(f'{key} | ' for key in extra) + \
        ' | '.join(columns) + ' | train time |'
    lines = [head, '|' + '---|' * (len(columns) + len(extra) + 2)]
    for row in rows:
        secs = row['train_seconds']
        time_str = f'{secs / 60:.1f} min' if secs else '(reused)'
        lines.append(f'| {row["name"]} | ' +
                     ''.join(f'{row[key]} | ' for key in extra) +
                     ' | '.join(f'{100 * row[c]:.1f}' for c in columns) +
                     f' | {time_str} |')
    return '\n'.join(lines)


def main():
    args = parse_args()
    print(describe_machine_load(measure_machine_load()), flush=True)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    print(f'{len(args.configs)} runs, {args.jobs} at a time, {threads} '
          f'thread(s) each; logs in {args.work_dir}/<config>/', flush=True)
    rows = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for wave in plan_runs(args.configs, args.work_dir):
            for run_rows in pool.map(
                    lambda run: run_one(*run, args, threads), wave):
                rows += run_rows
    table = format_table(rows)
    print(table)
    os.makedirs(args.work_dir, exist_ok=True)
    write_bytes_atomic((table + '\n').encode(),
                       osp.join(args.work_dir, 'results.md'))
    write_bytes_atomic(
        json.dumps(rows, indent=2).encode(),
        osp.join(args.work_dir, 'results.json'))


if __name__ == '__main__':
    main()
