"""Write the config of a method for a dataset of one's own
(``tools/misc/make_dataset_config.py``; docs/data.md, "Bring your own
data"): ``_base_`` = the method's config, plus the train json's classes as
every dataset's ``metainfo``, every ``num_classes`` of the model, and the
datasets and evaluators on the user's files. Each override is the smallest
one mmengine's merge needs; the file is parsed back before it is moved
into place.
"""
import argparse
import copy
import inspect
import os
import os.path as osp
import shlex
import sys
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..structures.vis_format import VISFormatError, load_json
from ..utils.atomic_io import new_file_mode, refuse_overwriting_inputs
from ..utils.user_errors import UserError, exit_on_user_error
from .config_checks import load_config

#: The dataset class of the written configs.
DATASET_TYPE = 'VISVideoDataset'
#: The evaluator the written configs keep (the base's must be one).
METRIC_TYPE = 'VISMetric'
SPLITS = ('train', 'val', 'test')

# ------------------------------------------------------------ the splits


def _read_split(split: str, path: str, option: str) -> dict:
    """Load and check a raw YouTube-VIS json given as ``option``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{option} {path} does not exist')
    raw = load_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get('videos'), list):
        raise VISFormatError(f'{option} {path}: a YouTube-VIS json with a '
                             '"videos" list is needed')
    if not raw['videos']:
        raise VISFormatError(f'{option} {path} has no videos')
    if any(not isinstance(v, dict)
           or not isinstance(v.get('file_names'), list)
           for v in raw['videos']):
        raise VISFormatError(
            f'{option} {path}: its videos have no "file_names"; give the '
            'raw YouTube-VIS json (as the converters and split_ytvis.py '
            'write it), not a CocoVID one')
    annotations = raw.get('annotations', None)
    if split != 'test' and not annotations:
        raise VISFormatError(
            f'{option} {path} has no annotations; the {split} split must '
            'be labelled (hold out labelled videos with tools/'
            'dataset_converters/split_ytvis.py)')
    return raw


def _check_frames(option: str, folder: str, raw: dict, path: str) -> None:
    """Refuse a frame folder without the json's first frame."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{option} {folder} is not a folder')
    video = raw['videos'][0]
    if not video['file_names']:
        raise VISFormatError(f'{path}: video {video.get("id")} has no '
                             'file_names')
    frame = osp.join(folder, video['file_names'][0])
    if not osp.isfile(frame):
        raise FileNotFoundError(
            f'{option} {folder}: the first frame {video["file_names"][0]} of '
            f'video {video.get("id")} of {path} is not in it ({frame}); '
            'give the folder that holds the video folders (e.g. '
            'ROOT/JPEGImages)')


def _cocovid_path(raw_path: str) -> str:
    stem, _ = osp.splitext(raw_path)
    return stem + '_cocovid.json'


def _prepare_cocovid(raw_path: str, classes: Tuple[str, ...],
                     force: bool) -> Tuple[str, str]:
    """The CocoVID json of ``raw_path`` (``X_cocovid.json`` beside
    ``X.json``), converted unless an up-to-date one is there.

    Returns:
        tuple[str, str]: Its path and what was done (for the summary).
    """
    from ..datasets.converters.vis2cocovid import (convert_vis_file,
                                                   summarize_cocovid)
    from ..datasets.dataset_classes import (categories_to_classes,
                                            read_json_categories)
    out = _cocovid_path(raw_path)
    if osp.isfile(out) and not force:
        if osp.getmtime(out) < osp.getmtime(raw_path):
            raise UserError(
                f'{out} is older than {raw_path} it was converted from; '
                'give --force to convert it again')
        if categories_to_classes(read_json_categories(out), out) != classes:
            raise UserError(
                f'{out} has other categories than {raw_path}; give --force '
                'to convert it again')
        return out, 'kept (up to date)'
    refuse_overwriting_inputs({'CocoVID json': out}, [('raw json', raw_path)])
    cocovid = convert_vis_file(raw_path, out, show_progress=False)
    return out, f'converted: {summarize_cocovid(cocovid)}'


# ------------------------------------------------------------ the config


def _plain(value: Any) -> Any:
    """``value`` with every ConfigDict a dict (for comparison and text)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def override(base: Any, wanted: Any) -> Any:
    """The override that mmengine's config merge turns ``base`` into
    ``wanted`` with: a dict gives only its changed keys (recursively); a
    dict that must lose keys is given whole with ``_delete_=True``; any
    other value is given whole.

    Args:
        base (Any): The base config's value.
        wanted (Any): The value wanted after the merge.

    Returns:
        Any: The override; ``{}`` for a dict that needs none.
    """
    if not (isinstance(base, dict) and isinstance(wanted, dict)):
        return copy.deepcopy(wanted)
    if set(base) - set(wanted):
        return dict(_delete_=True, **copy.deepcopy(wanted))
    diff = {}
    for key, value in wanted.items():
        if key not in base:
            diff[key] = copy.deepcopy(value)
        elif base[key] != value:
            sub = override(base[key], value)
            diff[key] = sub
    return diff


def set_num_classes(model: dict,
                    num_classes: int,
                    path: str = 'model') -> List[str]:
    """Set every ``num_classes`` key of a model config (heads of any
    depth, lists included).

    Args:
        model (dict): The model config (a plain dict), changed in place.
        num_classes (int): The number of classes.
        path (str): The dotted key of ``model``, for the returned keys.

    Returns:
        list[str]: The dotted keys set, e.g.
        ``['model.detector.bbox_head.num_classes']``.
    """
    keys = []
    items = model.items() if isinstance(model, dict) else enumerate(model)
    for key, value in list(items):
        where = f'{path}.{key}'
        if key == 'num_classes' and isinstance(value, int) and \
                not isinstance(value, bool):
            model[key] = num_classes
            keys.append(where)
        elif isinstance(value, (dict, list)):
            keys += set_num_classes(value, num_classes, where)
    return keys


def _dataset_init_keys(cls: type) -> set:
    """The keyword arguments a dataset class takes (along ``**kwargs``
    passed up its bases)."""
    keys = {'type'}
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__', None)
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        keys |= {
            p.name
            for p in params
            if p.name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                               p.KEYWORD_ONLY)
        }
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return keys


def _base_dataset(base: Config, name: str) -> dict:
    """The base's dataset of dataloader ``name``: one video dataset."""
    from mmdet.datasets import BaseVideoDataset

    from .. import register_all_modules
    from .config_checks import _dataset_class
    register_all_modules()  # the tool starts without (mmvis_clip/__init__)
    loader = base.get(name, None)
    dataset = loader.get('dataset', None) if isinstance(loader, dict) else None
    cls = _dataset_class(dataset) if isinstance(dataset, dict) else None
    if not (isinstance(cls, type) and issubclass(cls, BaseVideoDataset)):
        kind = dataset.get('type') if isinstance(dataset, dict) else None
        raise UserError(
            f'base config {base.filename}: {name}.dataset is '
            f'{kind or "missing"}, not one video dataset; start from a '
            'config that trains and tests on one, e.g. configs/stc/'
            'stc_r18_fpn_1xb4-8e_synthetic.py')
    return _plain(dataset)


def _wanted_dataset(base: dict, root: str, ann_file: str, img_dir: str,
                    classes: Tuple[str, ...]) -> dict:
    """The base dataset on the user's files, as a VISVideoDataset (the
    base's keys it does not take, e.g. ``dataset_version``, dropped)."""
    from mmdet.registry import DATASETS

    from .. import register_all_modules
    register_all_modules()
    accepted = _dataset_init_keys(DATASETS.get(DATASET_TYPE))
    wanted = {k: v for k, v in base.items() if k in accepted}
    wanted.update(
        type=DATASET_TYPE,
        data_root=root,
        ann_file=_relative(ann_file, root),
        data_prefix=dict(img_path=_relative(img_dir, root)),
        metainfo=dict(classes=tuple(classes)))
    return wanted


def _wanted_evaluator(base: Config, name: str, gt: str, labelled: bool,
                      results_dir: str) -> dict:
    evaluator = base.get(name, None)
    if not isinstance(evaluator, dict) or str(evaluator.get(
            'type', '')).split('.')[-1] != METRIC_TYPE:
        raise UserError(
            f'base config {base.filename}: {name} is not one {METRIC_TYPE} '
            f'({evaluator!r}); start from a config that evaluates with one')
    wanted = {
        k: v
        for k, v in _plain(evaluator).items()
        if k not in ('ann_file', 'format_only', 'outfile_prefix')
    }
    wanted['ann_file'] = gt
    if not labelled:  # no ground truth: results.json for a server
        wanted.update(format_only=True, outfile_prefix=results_dir)
    return wanted


def _relative(path: str, root: str) -> str:
    return osp.relpath(path, root) if root else path


def _normalize(paths: Dict[str, str]) -> Dict[str, str]:
    """Normalized paths: all absolute when one is, else as given (relative
    to where the tools run)."""
    absolute = any(osp.isabs(p) for p in paths.values())
    return {
        k: osp.abspath(p) if absolute else osp.normpath(p)
        for k, p in paths.items()
    }


def _data_root(paths: Sequence[str]) -> str:
    """The folder common to ``paths`` (normalized, all relative or all
    absolute), with a trailing ``/``."""
    if any(osp.isabs(p) for p in paths):
        paths = [osp.abspath(p) for p in paths]
    common = osp.commonpath(list(paths))
    if common in ('', '.'):
        return './'
    return common.rstrip('/') + '/'


def _text(name: str, value: Any) -> str:
    """``name = value`` as mmengine formats a config."""
    return Config({name: value}).pretty_text.strip() + '\n'


def _same(a: Any, b: Any) -> bool:
    return _plain(a) == _plain(b)


# ------------------------------------------------------------ the tool


def make_dataset_config(base_config: str,
                        out: str,
                        train_ann: str,
                        val_ann: str,
                        img_dir: str,
                        test_ann: Optional[str] = None,
                        val_img_dir: Optional[str] = None,
                        test_img_dir: Optional[str] = None,
                        max_epochs: Optional[int] = None,
                        load_from: Optional[str] = None,
                        force: bool = False,
                        command: Optional[Sequence[str]] = None) -> dict:
    """Write the config of ``base_config``'s method for the user's data.

    Args:
        base_config (str): The method's config file.
        out (str): The config to write (``.py``).
        train_ann (str): Raw YouTube-VIS json of the train split (its
            ``categories`` give the classes).
        val_ann (str): Raw json of the labelled validation split.
        img_dir (str): Frame folder of the train split.
        test_ann (str, optional): Raw json of the test split; defaults to
            ``val_ann`` (without annotations: ``format_only``).
        val_img_dir (str, optional): Frame folder of ``val_ann``; defaults
            to ``img_dir``.
        test_img_dir (str, optional): Frame folder of ``test_ann``;
            defaults to ``val_img_dir``.
        max_epochs (int, optional): ``train_cfg.max_epochs``; the base's
            when None.
        load_from (str, optional): The checkpoint to start from; the
            base's ``load_from`` when None.
        force (bool): Overwrite ``out`` and convert the CocoVID jsons
            again. Defaults to False.
        command (Sequence[str], optional): The command line, for the
            file's header (one line per item).

    Returns:
        dict: ``config`` (the path written), ``classes``, ``num_classes``
        (the dotted keys set), ``cocovid`` (split -> (path, what was
        done)) and ``overrides`` (the top-level keys written).

    Raises:
        UserError: A bad json, folder, base config or output, naming it.
        FileNotFoundError: A missing input.
    """
    from ..datasets.dataset_classes import categories_to_classes
    if not out.endswith('.py'):
        raise UserError(f'OUT {out}: a config file name ending in .py is '
                        'needed')
    if osp.exists(out) and not force:
        raise UserError(f'OUT {out} exists; give --force to overwrite it')
    val_img_dir = val_img_dir or img_dir
    anns = _normalize(
        dict(train=train_ann, val=val_ann, test=test_ann or val_ann))
    img_dirs = _normalize(
        dict(train=img_dir, val=val_img_dir, test=test_img_dir or val_img_dir))
    refuse_overwriting_inputs({'OUT': out}, [('base config', base_config)] +
                              [(f'--{s}-ann json', p)
                               for s, p in anns.items()],
                              [(f'{s} frame folder', d)
                               for s, d in img_dirs.items() if osp.isdir(d)])

    # the user's jsons and frames
    raws, classes = {}, None
    for split, path in anns.items():
        option = f'--{split}-ann'
        raws[split] = _read_split(split, path, option)
        split_classes = categories_to_classes(raws[split].get('categories'),
                                              path)
        if classes is None:
            classes = split_classes
        elif split_classes != classes:
            raise VISFormatError(
                f'{option} {path} has the categories '
                f'{list(split_classes)}, {anns["train"]} has '
                f'{list(classes)}; convert every split with one class map')
        option = '--img-dir' if split == 'train' else f'--{split}-img-dir'
        _check_frames(option, img_dirs[split], raws[split], path)

    # the base: every num_classes of the model, its datasets, evaluators
    base = load_config(base_config)
    wanted: Dict[str, Any] = {}
    model = _plain(base.model)
    num_classes_keys = set_num_classes(model, len(classes))
    if not num_classes_keys:
        raise UserError(f'base config {base_config}: its model has no '
                        'num_classes key; is it a VIS method config?')
    wanted['model'] = model
    if isinstance(base.get('num_classes', None), int):
        wanted['num_classes'] = len(classes)
        num_classes_keys.append('num_classes')
    base_datasets = {
        split: _base_dataset(base, f'{split}_dataloader')
        for split in SPLITS
    }
    results_dir = osp.join('work_dirs',
                           osp.splitext(osp.basename(out))[0], 'results')
    for split in SPLITS[1:]:
        wanted[f'{split}_evaluator'] = _wanted_evaluator(
            base, f'{split}_evaluator', anns[split],
            bool(raws[split].get('annotations')), results_dir)
    if max_epochs is not None:
        train_cfg = _plain(base.get('train_cfg', None) or {})
        if 'max_epochs' not in train_cfg:
            raise UserError(f'--max-epochs: base config {base_config} does '
                            'not train by epochs (train_cfg has no '
                            'max_epochs)')
        wanted['train_cfg'] = dict(train_cfg, max_epochs=max_epochs)
    if load_from is not None:
        wanted['load_from'] = load_from

    # the CocoVID jsons the datasets read, and the datasets
    cocovid: Dict[str, Tuple[str, str]] = {}
    for split in SPLITS:
        same = [s for s in cocovid if anns[s] == anns[split]]
        cocovid[split] = (cocovid[same[0]][0], f'as {same[0]}') if same \
            else _prepare_cocovid(anns[split], classes, force)
    root = _data_root(list(anns.values()) + list(img_dirs.values()))
    wanted['data_root'] = root
    for split in SPLITS:
        loader = f'{split}_dataloader'
        dataset = _wanted_dataset(base_datasets[split], root,
                                  cocovid[split][0], img_dirs[split], classes)
        wanted[loader] = dict(_plain(base[loader]), dataset=dataset)

    # the text: header, _base_, the overrides in a fixed order
    base_ref = osp.relpath(
        osp.abspath(base_config), osp.dirname(osp.abspath(out)))
    lines = [
        f'# {osp.basename(base_config)} on the dataset of '
        f'{anns["train"]}: {len(classes)} classes.\n',
        '# Written by tools/misc/make_dataset_config.py' +
        (':\n#   ' + ' \\\n#       '.join(command) if command else '') + '\n',
        f'_base_ = {base_ref!r}\n', '\n'
    ]
    order = [
        'num_classes', 'model', 'data_root', 'train_dataloader',
        'val_dataloader', 'test_dataloader', 'val_evaluator', 'test_evaluator',
        'train_cfg', 'load_from'
    ]
    overrides = []
    for key in order:
        if key not in wanted:
            continue
        pair = {
            'test_dataloader': 'val_dataloader',
            'test_evaluator': 'val_evaluator'
        }.get(key)
        if pair in overrides and _same(wanted[key], wanted[pair]) and \
                _same(base[key], base[pair]):
            lines.append(f'{key} = {pair}\n')
            overrides.append(key)
            continue
        diff = override(_plain(base.get(key, None)), wanted[key])
        if diff == {}:
            continue
        lines.append(_text(key, diff))
        overrides.append(key)
    text = ''.join(lines)
    _write_checked(text, out, wanted)
    return dict(
        config=out,
        classes=classes,
        num_classes=num_classes_keys,
        cocovid=cocovid,
        overrides=overrides,
        data_root=root)


def _write_checked(text: str, out: str, wanted: Dict[str, Any]) -> None:
    """Write ``text`` to ``out`` atomically after parsing it back (from a
    temporary ``.py`` next to ``out``, so that ``_base_`` resolves) and
    checking that every key of ``wanted`` has the wanted value."""
    folder = osp.dirname(osp.abspath(out))
    if osp.isdir(out):
        raise UserError(f'OUT {out} is a folder; expected a config file')
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(
        dir=folder, prefix='.' + osp.basename(out) + '.', suffix='.tmp.py')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        parsed = Config.fromfile(tmp_path)
        wrong = [
            key for key, value in wanted.items()
            if not _same(parsed.get(key, None), value)
        ]
        if wrong:  # a bug of this tool, not the user's
            raise RuntimeError(f'the config written for {out} parses to '
                               f'other values of {wrong}:\n{text}')
        os.chmod(tmp_path, new_file_mode())
        os.replace(tmp_path, out)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the config of a method (BASE_CONFIG) for a '
        'dataset of your own: classes and every num_classes from the '
        'train json, datasets and evaluators on your files. The jsons are '
        'raw YouTube-VIS (what the converters and split_ytvis.py write); '
        'the CocoVID json the datasets read is converted next to each '
        '(X_cocovid.json) when missing.')
    parser.add_argument(
        'base_config',
        help='the method\'s config, e.g. '
        'configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py')
    parser.add_argument('out', help='the config to write (.py)')
    parser.add_argument(
        '--train-ann', required=True, help='raw json of the train split')
    parser.add_argument(
        '--val-ann',
        required=True,
        help='raw json of the labelled validation split (e.g. '
        'split_ytvis.py --held-out-out)')
    parser.add_argument(
        '--test-ann',
        help='raw json of the test split (default: --val-ann); without '
        'annotations the test writes results only')
    parser.add_argument(
        '--img-dir',
        required=True,
        help='frame folder of the train split: its file_names are '
        'relative to it (e.g. ROOT/JPEGImages)')
    parser.add_argument(
        '--val-img-dir',
        help='frame folder of --val-ann (default: '
        '--img-dir)')
    parser.add_argument(
        '--test-img-dir',
        help='frame folder of --test-ann (default: --val-img-dir)')
    parser.add_argument(
        '--max-epochs',
        type=int,
        help='train_cfg.max_epochs (default: the base config\'s)')
    parser.add_argument(
        '--load-from',
        help='checkpoint to start training from (default: the base '
        'config\'s load_from), e.g. the frame-level model a CiCo config '
        'starts from, trained on your data')
    parser.add_argument(
        '--force',
        action='store_true',
        help='overwrite OUT and convert the CocoVID jsons again')
    args = parser.parse_args(argv)
    if args.max_epochs is not None and args.max_epochs < 1:
        parser.error(f'--max-epochs must be at least 1, got '
                     f'{args.max_epochs}')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Command line entry point (``tools/misc/make_dataset_config.py``)."""
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    # the header's command: positionals, then one option (and value) a line
    command = ['python tools/misc/make_dataset_config.py']
    for arg in argv:
        if arg == '--force':
            continue
        if arg.startswith('--') or len(command) < 3:
            command.append(shlex.quote(arg))
        else:
            command[-1] += ' ' + shlex.quote(arg)
    with exit_on_user_error():
        done = make_dataset_config(
            args.base_config,
            args.out,
            args.train_ann,
            args.val_ann,
            args.img_dir,
            test_ann=args.test_ann,
            val_img_dir=args.val_img_dir,
            test_img_dir=args.test_img_dir,
            max_epochs=args.max_epochs,
            load_from=args.load_from,
            force=args.force,
            command=command)
    classes = list(done['classes'])
    print(f'{done["config"]}: _base_ {args.base_config}; '
          f'{len(classes)} classes {classes} (from {args.train_ann}); '
          f'num_classes set in {", ".join(done["num_classes"])}')
    for split in SPLITS:
        path, how = done['cocovid'][split]
        print(f'  {split}: {path} ({how})')
    print(f'train it with: python tools/train.py {done["config"]}')
