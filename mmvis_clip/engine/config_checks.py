"""Checks of what a user gives ``tools/train.py`` / ``tools/test.py``: the
config file, ``--data-root``, ``--cfg-options``, the final config's values
and the data it points to; each problem a one-line ``UserError`` naming the
file or key (``docs/train_test.md``)."""
import ast
import difflib
import inspect
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..utils.user_errors import UserError, one_line

#: The synthetic dataset class and its default folder: only there is a
#: missing file made with a command (never in a folder of the user's).
SYNTHETIC_DATASET = 'SyntheticVISDataset'
SYNTHETIC_ROOT = 'data/synthetic_vis'
MAKE_SYNTHETIC = 'python tools/misc/make_synthetic_vis.py --out {root}'
#: The datasets whose files docs/data.md says how to prepare.
PUBLIC_DATASETS = ('YouTubeVISDataset', 'OVISDataset')

#: Top-level keys mmengine's Runner reads besides its ``__init__``
#: arguments.
RUNNER_EXTRA_KEYS = ('runner_type', 'model_wrapper_cfg',
                     'find_unused_parameters', 'activation_checkpointing',
                     'efficient_conv_bn_eval', 'sync_bn', 'custom_imports')

#: Keys of a dataloader config that mmengine's ``Runner.build_dataloader``
#: takes out before passing the rest to ``torch.utils.data.DataLoader``.
DATALOADER_EXTRA_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn',
                         'worker_init_fn', 'num_batch_per_epoch')

#: Keys of a param scheduler config the Runner takes out before building.
SCHEDULER_EXTRA_KEYS = ('convert_to_iter_based', )

#: Keys of ``optim_wrapper`` the Runner takes out before building it.
OPTIM_WRAPPER_EXTRA_KEYS = ('constructor', 'paramwise_cfg')

#: Typed dicts built from a module's attribute, not from a registry (key
#: -> module): mmdet's RoI extractors take ``roi_layer`` from mmcv's ops.
BUILT_FROM_MODULE = {'roi_layer': 'mmcv.ops'}


def _close(name: str, names) -> str:
    matches = difflib.get_close_matches(name, sorted(set(names)), n=3,
                                        cutoff=0.6)
    return f' (did you mean {", ".join(matches)}?)' if matches else ''


def load_config(filename: str) -> Config:
    """``Config.fromfile`` with one error naming the file at fault.

    Args:
        filename (str): The config file.

    Returns:
        Config: The parsed config.

    Raises:
        FileNotFoundError: The file does not exist (with the closest names
            in its folder).
        UserError: It (or one of its ``_base_`` files) cannot be parsed.
    """
    if not osp.isfile(filename):
        folder = osp.dirname(filename) or '.'
        names = sorted(os.listdir(folder)) if osp.isdir(folder) else []
        matches = difflib.get_close_matches(
            osp.basename(filename), names, n=2, cutoff=0.6)
        hint = ' (did you mean ' + ', '.join(
            osp.join(osp.dirname(filename), m)
            for m in matches) + '?)' if matches else ''
        raise FileNotFoundError(f'config {filename} does not exist{hint}')
    try:
        return Config.fromfile(filename)
    except SyntaxError as err:
        culprit = _file_with_syntax_error(filename) or (filename, err)
        where, error = culprit
        base = f' (its _base_ {where})' if where != filename else ''
        raise UserError(f'config {filename}{base}: syntax error at line '
                        f'{error.lineno}: {error.msg}') from None
    except Exception as err:  # parsing runs the config's Python code
        raise UserError(f'config {filename} cannot be read: '
                        f'{type(err).__name__}: {one_line(err)}') from None


def _file_with_syntax_error(
        filename: str) -> Optional[Tuple[str, SyntaxError]]:
    """The config file, or the first of its ``_base_`` files (walked in
    order), that Python cannot parse, and its error."""
    try:
        with open(filename, encoding='utf-8') as f:
            ast.parse(f.read())
    except SyntaxError as err:
        return filename, err
    except OSError:
        return None
    try:
        bases = Config._get_base_files(filename)
    except Exception:  # mmengine internals: no finer answer then
        return None
    for base in bases:
        try:
            path, scope = Config._get_cfg_path(base, filename)
        except Exception:
            continue
        if scope is None and path.endswith('.py'):
            found = _file_with_syntax_error(path)
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------- data root


def _walk(node: Any, path: Tuple[str, ...] = ()):
    """Every ``(path, container, key, value)`` of a config tree."""
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, (list, tuple)):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        yield path + (str(key), ), node, key, value
        yield from _walk(value, path + (str(key), ))


def _under_root(value: str, root: str) -> bool:
    return value == root or value.startswith(
        root if root.endswith('/') else root + '/')


def split_data_root(
        data_root: Optional[str],
        cfg_options: Optional[dict]) -> Tuple[Optional[str], Dict[str, Any]]:
    """Take a top-level ``data_root`` out of ``--cfg-options``: it means
    what ``--data-root`` means.

    Args:
        data_root (str, optional): ``--data-root``.
        cfg_options (dict, optional): ``--cfg-options``.

    Returns:
        tuple: The data root (or None) and the other options.

    Raises:
        UserError: Both give a data root, and they differ.
    """
    options = dict(cfg_options or {})
    if 'data_root' in options:
        value = options.pop('data_root')
        if not isinstance(value, str):
            raise UserError(f'--cfg-options data_root={value!r}: a folder '
                            'path is needed')
        if data_root is not None and data_root != value:
            raise UserError(f'--data-root {data_root} and --cfg-options '
                            f'data_root={value} differ; give one')
        data_root = value
    return data_root, options


def dataset_roots(cfg: Config) -> List[Tuple[str, str]]:
    """``(dotted key, data_root)`` of every dataset of the dataloaders."""
    roots = []
    for name in cfg.keys():
        if not name.endswith('_dataloader'):
            continue
        for path, _, key, value in _walk(cfg[name], (name, )):
            if key == 'data_root' and isinstance(value, str):
                roots.append(('.'.join(path), value))
    return roots


def apply_data_root(cfg: Config, data_root: str) -> List[str]:
    """Point the config at another data root, as if its ``data_root`` had
    been ``data_root`` when the file was parsed (every path built from the
    old root moves too).

    Args:
        cfg (Config): Modified in place.
        data_root (str): The new root.

    Returns:
        list[str]: The dotted keys changed.

    Raises:
        UserError: The config names no data root, or its datasets use
            several.
    """
    if not data_root:
        raise UserError('--data-root: an empty path')
    roots = dataset_roots(cfg)
    old = cfg.get('data_root', None)
    if not isinstance(old, str) or not old:
        values = sorted({v for _, v in roots})
        if len(values) != 1:
            raise UserError(
                f'--data-root: {cfg.filename} has no data_root and its '
                f'datasets have {len(values)} different ones; set each '
                'dataset\'s with --cfg-options')
        old = values[0]
    others = [(k, v) for k, v in roots if v != old]
    if others:
        key, value = others[0]
        raise UserError(
            f'--data-root: {key}={value!r} is not the config\'s data_root '
            f'{old!r}; set that dataset\'s with --cfg-options {key}=DIR')
    new = data_root.rstrip('/') or '/'
    if old.endswith('/') and not new.endswith('/'):
        new += '/'
    changed: List[str] = []
    seen = set()  # a dict or list the config holds twice moves once

    def move(node: Any, path: Tuple[str, ...]) -> Any:
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                return node
            seen.add(id(node))
        if isinstance(node, dict):
            for key in list(node):
                if path or key != 'data_root':
                    node[key] = move(node[key], path + (str(key), ))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                node[i] = move(value, path + (str(i), ))
        elif isinstance(node, tuple):
            node = tuple(
                move(v, path + (str(i), )) for i, v in enumerate(node))
        elif isinstance(node, str) and _under_root(node, old):
            changed.append('.'.join(path))
            node = new + node[len(old):]
        return node

    move(cfg._cfg_dict, ())
    cfg.data_root = new
    return changed


# ------------------------------------------------------------- cfg-options


def _registries() -> Dict[str, Any]:
    from mmdet import registry
    return {
        name: getattr(registry, name)
        for name in ('MODELS', 'TASK_UTILS', 'LOOPS', 'DATASETS',
                     'DATA_SAMPLERS', 'TRANSFORMS', 'METRICS', 'HOOKS',
                     'OPTIMIZERS', 'OPTIM_WRAPPERS', 'PARAM_SCHEDULERS',
                     'VISUALIZERS', 'LOG_PROCESSORS')
    }


def _registry_of(path: Sequence[str]) -> Optional[str]:
    """The registry that builds the typed dict at ``path`` (a tuple of
    keys from the top), when that registry passes all of its keys to the
    class; None where this is not known."""
    top, rest = path[0], list(path[1:])
    names = [p for p in rest if not p.isdigit()]
    if top == 'model':
        # layer configs (norm_cfg, conv_cfg, init_cfg, ...) and the
        # train / test settings are built by other builders
        if any(p.endswith('_cfg') for p in names):
            return None
        return 'MODELS'
    if top in ('train_cfg', 'val_cfg', 'test_cfg') and not rest:
        return 'LOOPS'
    if top.endswith('_dataloader'):
        if 'pipeline' in names:
            return 'TRANSFORMS'
        if names and names[-1] in ('sampler', 'batch_sampler'):
            return 'DATA_SAMPLERS'
        if names and names[-1] in ('dataset', 'datasets'):
            return 'DATASETS'
        return None
    if top.endswith('_evaluator') and not names:
        return 'METRICS'
    if top == 'default_hooks' and len(rest) == 1:
        return 'HOOKS'
    if top == 'custom_hooks' and len(rest) == 1 and not names:
        return 'HOOKS'
    if top == 'optim_wrapper' and names == ['optimizer']:
        return 'OPTIMIZERS'
    if top == 'optim_wrapper' and not rest:
        return 'OPTIM_WRAPPERS'
    if top == 'param_scheduler' and not names:
        return 'PARAM_SCHEDULERS'
    if top == 'visualizer' and not rest:
        return 'VISUALIZERS'
    if top == 'log_processor' and not rest:
        return 'LOG_PROCESSORS'
    return None


def _parameters(func) -> Optional[Dict[str, inspect.Parameter]]:
    """Keyword parameters of a callable, or None when it takes
    ``**kwargs`` or has no readable signature."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return {
        n: p
        for n, p in params.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _accepted_keys(
        path: Sequence[str], node: dict,
        type_override: Any) -> Optional[Dict[str, inspect.Parameter]]:
    """The keys a config dict at ``path`` may hold (name -> parameter),
    or None where any key may be right."""
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader
    if len(path) == 1 and path[0] == 'randomness':
        return _parameters(Runner.set_randomness)
    if len(path) == 1 and path[0].endswith('_dataloader') and \
            'type' not in node:
        params = _parameters(DataLoader)
        extra = {k: None for k in DATALOADER_EXTRA_KEYS}
        return None if params is None else {**params, **extra}
    kind = type_override if type_override is not None else node.get('type')
    registry = _registry_of(path)
    if kind is None or registry is None:
        return None
    if isinstance(kind, str):
        try:
            cls = _registries()[registry].get(kind)
        except Exception:  # an unknown scope: not checked here
            cls = None
    else:
        cls = kind
    if cls is None:
        return None
    params = _parameters(cls)
    if params is None:
        return None
    if registry == 'PARAM_SCHEDULERS':
        params.update({k: None for k in SCHEDULER_EXTRA_KEYS})
    if registry == 'OPTIM_WRAPPERS':
        params.update({k: None for k in OPTIM_WRAPPER_EXTRA_KEYS})
    params['type'] = None
    return params


def _top_level_keys(cfg: Config) -> List[str]:
    from mmengine.runner import Runner
    names = list(cfg.keys()) + list(RUNNER_EXTRA_KEYS)
    params = _parameters(Runner.__init__) or {}
    return names + [n for n in params if n != 'self']


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(key: str, value: Any, old: Any,
                 param: Optional[inspect.Parameter]) -> None:
    """A string where the config (or the parameter's default) has a
    number or a bool is a typo, not a value."""
    if not isinstance(value, str):
        return
    if param is not None and old is None and \
            param.default is not inspect.Parameter.empty:
        old = param.default
    if _is_number(old):
        raise UserError(f'--cfg-options {key}={value}: a number is needed '
                        f'(the config has {old!r})')
    if isinstance(old, bool):
        raise UserError(f'--cfg-options {key}={value}: True or False is '
                        f'needed (the config has {old!r})')


def _registry_names(registry) -> List[str]:
    """Every name ``registry`` finds without a scope (its parents'
    included)."""
    names: List[str] = []
    while registry is not None:
        names.extend(registry.module_dict)
        registry = registry.parent
    return names


def _check_type(where: str, path: Sequence[str], value: Any) -> None:
    """Refuse a ``type`` that nothing builds the dict at ``path`` from
    (registries, :data:`BUILT_FROM_MODULE`).

    Args:
        where (str): How the message names the value, e.g.
            ``'--cfg-options model.tracker.type=X'``.
        path (Sequence[str]): Keys of the typed dict from the top.
        value: Its ``type``; only names (str) are checked.

    Raises:
        UserError: ``no 'X' in the MODELS registry (did you mean ...?)``.
    """
    if not isinstance(value, str) or not path:
        return
    module = BUILT_FROM_MODULE.get(path[-1])
    if module is not None:
        import importlib
        names = dir(importlib.import_module(module))
        if value not in names:
            raise UserError(f'{where}: no {value!r} in {module}'
                            f'{_close(value, names)}')
        return
    name = _registry_of(path)
    if name is None:
        return
    registries = _registries()
    candidates = [registries[name]]
    if name == 'MODELS':
        candidates.append(registries['TASK_UTILS'])
    for registry in candidates:
        try:
            if registry.get(value) is not None:
                return
        except Exception:  # e.g. an unknown scope prefix
            pass
    names = [n for r in candidates for n in _registry_names(r)]
    raise UserError(f'{where}: no {value!r} in the {name} registry'
                    f'{_close(value, names)}')


def _import_config_modules(cfg: Config) -> None:
    """Import the config's ``custom_imports`` and set its default scope,
    so that its registry names can be looked up."""
    if cfg.get('custom_imports', None):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg['custom_imports'])
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', None) or 'mmdet')


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Refuse ``--cfg-options`` keys that nothing would read, values of
    the wrong kind and unknown ``type`` names, before they are merged.

    Args:
        cfg (Config): The config, before the options are merged.
        options (dict): ``--cfg-options`` as ``DictAction`` parsed them
            (dotted keys).

    Raises:
        UserError: Naming the full dotted key, and the closest valid
            names where there are some.
    """
    _import_config_modules(cfg)
    for key, value in options.items():
        parts = key.split('.')
        if not all(parts):
            raise UserError(f'--cfg-options {key}: an empty name in the key')
        node: Any = cfg._cfg_dict
        for i, part in enumerate(parts):
            path = tuple(parts[:i])
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise UserError(
                        f'--cfg-options {key}: {".".join(path)} is a list '
                        f'of {len(node)}; {part!r} is not an index of it')
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise UserError(
                    f'--cfg-options {key}: {".".join(path)} is '
                    f'{node!r}, not a dict; set {".".join(path)} itself')
            last = i == len(parts) - 1
            if last and part == 'type':
                _check_type(f'--cfg-options {key}={value}', path, value)
            if part in node:
                if last:
                    _check_value(key, value, node[part], None)
                node = node[part]
                continue
            # a key the config does not have
            param = None
            if i == 0:
                valid = _top_level_keys(cfg)
                if part not in valid:
                    raise UserError(
                        f'--cfg-options {key}: the config has no key '
                        f'{part!r}{_close(part, valid)}')
            else:
                override = options.get('.'.join(path + ('type', )))
                accepted = _accepted_keys(path, node, override)
                if accepted is not None and part not in accepted:
                    names = list(accepted) + list(node.keys())
                    kind = override or node.get('type') or '.'.join(path)
                    raise UserError(
                        f'--cfg-options {key}: {kind} takes no '
                        f'{part!r}{_close(part, names)}')
                param = (accepted or {}).get(part)
            if last:
                _check_value(key, value, None, param)
            node = {}  # a new dict: what follows is checked against it


def merge_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """:func:`check_cfg_options`, then merge them into ``cfg``.

    Raises:
        UserError: See :func:`check_cfg_options`; or mmengine's merge
            refused them.
    """
    if not options:
        return
    check_cfg_options(cfg, options)
    try:
        cfg.merge_from_dict(options)
    except (TypeError, KeyError, IndexError, ValueError) as err:
        raise UserError(f'--cfg-options: {one_line(err)}') from None


# ------------------------------------------ values and registry names


#: Values whose limits no signature says: ``(dotted-key pattern, kinds,
#: least, most, what the value is)``. Where a config (file or option) sets
#: such a key, it is checked here first, then against the signature of
#: the class that takes it.
KNOWN_VALUES = (
    (r'train_cfg\.max_epochs', 'int', 1, None, 'the epochs to train'),
    (r'train_cfg\.max_iters', 'int', 1, None, 'the iterations to train'),
    (r'train_cfg\.val_interval', 'int', 1, None,
     'the epochs (or iterations) between validations'),
    (r'[^.]+_dataloader\.batch_size', 'int', 1, None,
     'the samples per process and step'),
    (r'[^.]+_dataloader\.num_workers', 'int', 0, None,
     'the loader processes'),
    (r'[^.]+_dataloader\.prefetch_factor', 'int none', 1, None,
     'the batches each loader process prepares'),
    (r'randomness\.seed', 'int none', 0, 2**32 - 1, 'the random seed'),
    (r'model\.(.+\.)?num_classes', 'int', 1, None, 'the class count'),
)

#: What a value of each kind is called in messages.
_KIND_WORDS = {
    'int': 'a whole number',
    'float': 'a number',
    'bool': 'True / False',
    'str': 'text',
    'none': 'None',
    'list': 'a list',
    'dict': 'a dict'
}
_TYPE_KINDS = {
    int: 'int',
    float: 'float',
    bool: 'bool',
    str: 'str',
    type(None): 'none',
    list: 'list',
    tuple: 'list'
}
_NAME_KINDS = {
    'int': 'int',
    'float': 'float',
    'bool': 'bool',
    'str': 'str',
    'None': 'none',
    'NoneType': 'none',
    'list': 'list',
    'tuple': 'list'
}
_SEQUENCE_TEXT = re.compile(
    r'(typing\.)?(List|Tuple|Sequence|list|tuple)(\[.*\])?')


def _value_kind(value: Any) -> str:
    if value is None:
        return 'none'
    for kind in (bool, int, float, str):  # bool before int: a subclass
        if isinstance(value, kind):
            return _TYPE_KINDS[kind]
    if isinstance(value, (list, tuple)):
        return 'list'
    if isinstance(value, dict):
        return 'dict'
    return type(value).__name__


def _split_top_level(text: str, sep: str) -> List[str]:
    """``text`` split at the ``sep`` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in '[(':
            depth += 1
        elif char in '])':
            depth -= 1
        elif char == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return parts + [text[start:].strip()]


def _text_kinds(text: str) -> Optional[frozenset]:
    """:func:`_annotation_kinds` of an annotation written as text
    (``'int | None'``, ``'Optional[int]'``)."""
    text = text.strip()
    for wrapper, sep in (('Optional', None), ('Union', ',')):
        match = re.fullmatch(rf'(typing\.)?{wrapper}\[(.*)\]', text)
        if match:
            parts = _split_top_level(match[2], sep) if sep else [match[2]]
            if wrapper == 'Optional':
                parts.append('None')
            break
    else:
        parts = _split_top_level(text, '|')
    if len(parts) > 1:
        kinds = [_text_kinds(p) for p in parts]
        return None if None in kinds else frozenset().union(*kinds)
    if text in _NAME_KINDS:
        return frozenset({_NAME_KINDS[text]})
    if text in ('Tensor', 'torch.Tensor'):
        return frozenset()  # a config cannot give a tensor
    if _SEQUENCE_TEXT.fullmatch(text):
        return frozenset({'list'})
    return None


def _annotation_kinds(annotation: Any) -> Optional[frozenset]:
    """The kinds of value (:func:`_value_kind`) an annotation lets
    through, or None where it names anything else (a class, a dict, a
    callable: such values are not checked)."""
    import collections.abc
    import types
    import typing
    import torch
    if annotation is inspect.Parameter.empty:
        return None
    if annotation is torch.Tensor or annotation == 'Tensor':
        return frozenset()  # a config cannot give a tensor
    if isinstance(annotation, str):
        return _text_kinds(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is getattr(types, 'UnionType', ()):
        kinds = [_annotation_kinds(a) for a in typing.get_args(annotation)]
        return None if None in kinds else frozenset().union(*kinds)
    if origin in (list, tuple, collections.abc.Sequence):
        return frozenset({'list'})
    try:
        kind = _TYPE_KINDS.get(annotation)
    except TypeError:  # not hashable
        kind = None
    return None if kind is None else frozenset({kind})


def _parameter_kinds(param: inspect.Parameter) -> Optional[frozenset]:
    """What a parameter takes: its annotation's kinds, else (no
    annotation) those of a bool or number default; None lets anything
    through. A None default is always taken."""
    kinds = _annotation_kinds(param.annotation)
    default = param.default
    if kinds is None and param.annotation is inspect.Parameter.empty:
        if isinstance(default, bool):
            kinds = frozenset({'bool'})
        elif _is_number(default):
            kinds = frozenset({'int', 'float'})
    if kinds is not None and default is None:
        kinds = kinds | {'none'}
    return kinds


def _takes(kinds: frozenset, kind: str) -> bool:
    # a whole number is a number; a text is a sequence of texts to many
    # of mmdet's parameters (``Sequence[str]``)
    return kind in kinds or (kind == 'int' and 'float' in kinds) or (
        kind == 'str' and 'list' in kinds)


def _kind_words(kinds: frozenset, name: str = '') -> str:
    order = ('int', 'float', 'bool', 'str', 'list', 'dict', 'none')
    if 'int' in kinds and 'float' in kinds:
        kinds = kinds - {'int'}
    words = [_KIND_WORDS[k] for k in order if k in kinds]
    if 'str' in kinds and re.search(r'(file|path|dir|root|prefix)$', name):
        words[words.index('text')] = 'a path (text)'
    return ' or '.join(words)


def _init_parameters(cls: Any) -> Dict[str, inspect.Parameter]:
    """The keyword parameters a registered class (or function) takes,
    those of the base classes its ``**kwargs`` go to included."""
    params: Dict[str, inspect.Parameter] = {}
    functions = [cls] if not isinstance(cls, type) else [
        klass.__dict__['__init__'] for klass in inspect.getmro(cls)
        if klass is not object and '__init__' in klass.__dict__
    ]
    for function in functions:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            break
        for name, param in signature.parameters.items():
            if name != 'self' and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                 param.KEYWORD_ONLY):
                params.setdefault(name, param)
        if not any(p.kind is p.VAR_KEYWORD
                   for p in signature.parameters.values()):
            break
    return params


def _built_class(node: dict,
                 path: Tuple[str, ...]) -> Tuple[Optional[Any], str]:
    """The class (or function) the config dict at ``path`` is built with,
    where it is known, and its name for messages."""
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader
    if not path:
        return Runner, 'Runner'
    if path == ('randomness', ):
        return Runner.set_randomness, 'Runner.set_randomness'
    kind = node.get('type', None)
    if len(path) == 1 and path[0].endswith('_dataloader') and kind is None:
        return DataLoader, 'DataLoader'
    if kind is None:
        return None, ''
    if not isinstance(kind, str):
        return (kind, kind.__name__) if callable(kind) else (None, '')
    name = _registry_of(path)
    if name is None:
        return None, ''
    registries = _registries()
    for registry in [registries[name]] + (
            [registries['TASK_UTILS']] if name == 'MODELS' else []):
        try:
            found = registry.get(kind)
        except Exception:  # an unknown scope: _check_type reports it
            found = None
        if found is not None:
            return found, getattr(found, '__name__', kind)
    return None, ''


def _check_known_value(path: Tuple[str, ...], value: Any, where) -> bool:
    """Check a key of :data:`KNOWN_VALUES`; whether ``path`` is one."""
    key = '.'.join(path)
    for pattern, kinds, least, most, what in KNOWN_VALUES:
        if not re.fullmatch(pattern, key):
            continue
        kinds = frozenset(kinds.split())
        kind = _value_kind(value)
        fits = kind in kinds and (kind == 'none' or (
            (least is None or value >= least) and
            (most is None or value <= most)))
        if fits:
            return True
        needed = _KIND_WORDS[sorted(kinds - {'none'})[0]]
        if most is not None:
            needed += f' from {least} to {most}'
        elif least is not None:
            needed += f' >= {least}'
        if 'none' in kinds:
            needed += ', or None'
        raise UserError(f'{where(path, value)}: {what} must be {needed}')
    return False


def _check_dict_values(node: dict, path: Tuple[str, ...], where) -> None:
    """Check the ``type`` and the values of the config dict at ``path``,
    then of the dicts within it."""
    if 'type' in node and path:
        _check_type(where(path + ('type', ), node['type']), path,
                    node['type'])
    built, owner = _built_class(node, path)
    params = _init_parameters(built) if built is not None else {}
    for key, value in node.items():
        sub = path + (str(key), )
        if not _check_known_value(sub, value, where) and key in params:
            kinds = _parameter_kinds(params[key])
            kind = _value_kind(value)
            if kinds is not None and not _takes(kinds, kind):
                raise UserError(
                    f'{where(sub, value)}: {owner}\'s {key} takes '
                    f'{_kind_words(kinds, str(key))}, not '
                    f'{_KIND_WORDS.get(kind, kind)}')
        _check_values_in(value, sub, where)


def _check_values_in(value: Any, path: Tuple[str, ...], where) -> None:
    if isinstance(value, dict):
        _check_dict_values(value, path, where)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_values_in(item, path + (str(i), ), where)


def check_config_values(cfg: Config,
                        options: Optional[Dict[str, Any]] = None) -> None:
    """Refuse, before anything is built, a registry name or a value of the
    final config that the class it goes to does not take (kind against
    the signature; range for :data:`KNOWN_VALUES`).

    Args:
        cfg (Config): The final config.
        options (dict, optional): ``--cfg-options`` (dotted keys), so that
            a message names the option rather than the file.

    Raises:
        UserError: One line: ``--cfg-options KEY=VALUE: ...`` or
            ``CONFIG: KEY=VALUE: ...``, saying what the key takes.
    """
    _import_config_modules(cfg)
    config = cfg.filename or 'the config'
    set_by_options = list(options or {})

    def where(path: Tuple[str, ...], value: Any) -> str:
        key = '.'.join(path)
        given = any(key == o or key.startswith(o + '.')
                    for o in set_by_options)
        source = '--cfg-options ' if given else f'{config}: '
        return f'{source}{key}={value!r}'

    _check_dict_values(cfg._cfg_dict, (), where)
    for key, loader in cfg._cfg_dict.items():
        if not (key.endswith('_dataloader') and isinstance(loader, dict)
                and loader.get('num_batch_per_epoch') is not None):
            continue
        sampler = loader.get('sampler')
        if isinstance(sampler, dict) and sampler.get('type') in (
                'TrackImgSampler', 'mmdet.TrackImgSampler'):
            path = (key, 'num_batch_per_epoch')
            raise UserError(
                f'{where(path, loader["num_batch_per_epoch"])}: mmdet\'s '
                'TrackImgSampler samples whole videos and cannot take the '
                'slice of the dataset mmengine makes for it; train on fewer '
                'videos with a subset (tools/dataset_converters/'
                'split_ytvis.py) instead')


# --------------------------------------------------------------- the data


def _datasets(node: Any, path: str):
    """``(dotted key, dataset config)`` of the datasets in a dataloader's
    ``dataset`` (wrappers' ``dataset`` / ``datasets`` walked into)."""
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _datasets(item, f'{path}.{i}')
        return
    if not isinstance(node, dict):
        return
    inner = [k for k in ('dataset', 'datasets') if k in node]
    if inner:
        for k in inner:
            yield from _datasets(node[k], f'{path}.{k}')
    else:
        yield path, node


def _join(root: Optional[str], path: str) -> str:
    if root and not osp.isabs(path) and '://' not in path:
        return osp.join(root, path)
    return path


def _type_name(dataset: dict) -> str:
    kind = dataset.get('type', '')
    return (kind if isinstance(kind, str) else getattr(
        kind, '__name__', str(kind))).split('.')[-1]


def _missing_hint(dataset: dict, path: Optional[str] = None) -> str:
    """How to make the missing ``path`` of ``dataset`` (a dataset config):
    the synthetic or conversion command, docs/data.md, or
    ``make_dataset_config.py``."""
    from ..datasets.dataset_classes import MAKE_DATASET_CONFIG, raw_json_of
    root = dataset.get('data_root') or ''
    kind = _type_name(dataset)
    if kind == SYNTHETIC_DATASET and root and '://' not in root and \
            osp.abspath(root) == osp.abspath(SYNTHETIC_ROOT):
        return ('; make it with: ' +
                MAKE_SYNTHETIC.format(root=SYNTHETIC_ROOT) +
                ' (or give --data-root DIR)')
    raw = raw_json_of(path) if path else None
    if raw is not None:
        return ('; convert it from its raw json with: python tools/'
                f'dataset_converters/vis2cocovid.py -i {raw} -o {path}')
    if kind in PUBLIC_DATASETS:
        return ('; prepare the dataset as docs/data.md says, or give '
                '--data-root DIR')
    return ('; check the path (data_root, or give --data-root DIR); for '
            'data of your own, write the config with '
            f'{MAKE_DATASET_CONFIG} (docs/data.md, "Bring your own data")')


def check_data_exists(cfg: Config, dataloaders: Sequence[str],
                      evaluators: Sequence[str]) -> None:
    """Refuse, before anything is built, a dataset or ground truth file of
    the config that is not there, or a video dataset json without the
    dataset's classes.

    Args:
        cfg (Config): The final config.
        dataloaders (Sequence[str]): E.g. ``('train_dataloader',)``; those
            the config lacks (or sets to None) are skipped.
        evaluators (Sequence[str]): E.g. ``('test_evaluator',)``; their
            ``ann_file`` is checked.

    Raises:
        FileNotFoundError: Naming the key and the path, and how to make
            it (:func:`_missing_hint`).
        UserError: A video dataset whose json does not have its classes
            (:func:`check_dataset_classes`).
    """
    hint = ''
    for name in dataloaders:
        loader = cfg.get(name, None)
        if not loader or loader.get('dataset', None) is None:
            continue
        for key, dataset in _datasets(loader['dataset'], f'{name}.dataset'):
            root = dataset.get('data_root', None)
            if root and '://' not in root and not osp.isdir(root):
                raise FileNotFoundError(
                    f'{key}.data_root: {root} does not exist' +
                    _missing_hint(dataset, root))
            ann = dataset.get('ann_file', None)
            if ann and not osp.isfile(_join(root, ann)):
                raise FileNotFoundError(
                    f'{key}.ann_file: {_join(root, ann)} does not exist' +
                    _missing_hint(dataset, _join(root, ann)))
            for kind, prefix in (dataset.get('data_prefix', None)
                                 or {}).items():
                folder = _join(root, prefix) if isinstance(prefix,
                                                           str) else None
                if folder and '://' not in folder and not osp.isdir(folder):
                    raise FileNotFoundError(
                        f'{key}.data_prefix.{kind}: {folder} does not exist'
                        + _missing_hint(dataset, folder))
            hint = hint or _missing_hint(dataset)
    for name in evaluators:
        evaluator = cfg.get(name, None)
        items = evaluator if isinstance(evaluator, (list, tuple)) else [
            evaluator
        ]
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            ann = item.get('ann_file', None)
            key = name if len(items) == 1 else f'{name}.{i}'
            if ann and '://' not in ann and not osp.isfile(ann):
                raise FileNotFoundError(
                    f'{key}.ann_file: {ann} does not exist' +
                    (hint or f'; set it with --cfg-options {key}.ann_file='
                     'PATH'))
    check_dataset_classes(cfg, dataloaders)


def _dataset_class(dataset: dict) -> Optional[type]:
    kind = dataset.get('type', None)
    if isinstance(kind, type):
        return kind
    if not isinstance(kind, str):
        return None
    try:
        return _registries()['DATASETS'].get(kind)
    except Exception:  # an unknown scope: the Runner reports it
        return None


def config_dataset_classes(dataset: dict) -> Optional[Tuple[str, ...]]:
    """The classes a video dataset config will have: its ``metainfo``'s,
    else its class's ``METAINFO``'s.

    Args:
        dataset (dict): A dataset config.

    Returns:
        tuple[str] | None: None when it is not an mmdet video dataset
        (``BaseVideoDataset``) or names no classes before it is built
        (mmdet's ``YouTubeVISDataset`` sets them when built).
    """
    from mmdet.datasets import BaseVideoDataset
    cls = _dataset_class(dataset)
    if not (isinstance(cls, type) and issubclass(cls, BaseVideoDataset)):
        return None
    metainfo = dataset.get('metainfo', None) or {}
    classes = metainfo.get('classes', None) if isinstance(
        metainfo, dict) else None
    # mmdet's YouTubeVISDataset sets its class METAINFO when built, by
    # dataset_version: what it holds before is not this config's
    if classes is None and not hasattr(cls, 'set_dataset_classes'):
        classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    if not classes or isinstance(classes, str):
        return None
    return tuple(str(c) for c in classes)


def check_dataset_classes(cfg: Config, dataloaders: Sequence[str]) -> None:
    """Refuse, before anything is built, a video dataset whose annotation
    json (its ``categories``) does not have its classes.

    Args:
        cfg (Config): The final config.
        dataloaders (Sequence[str]): E.g. ``('test_dataloader',)``.

    Raises:
        UserError: Naming the config, the dataset key, the json and what
            differs.
    """
    from ..datasets.dataset_classes import (class_mismatch,
                                            make_dataset_config_command,
                                            raw_json_of, read_json_categories)
    config = cfg.filename or 'the config'
    for name in dataloaders:
        loader = cfg.get(name, None)
        if not loader or loader.get('dataset', None) is None:
            continue
        for key, dataset in _datasets(loader['dataset'], f'{name}.dataset'):
            ann = dataset.get('ann_file', None)
            classes = config_dataset_classes(dataset)
            if not ann or classes is None:
                continue
            path = _join(dataset.get('data_root', None), ann)
            if '://' in path or not osp.isfile(path):
                continue
            names = [str(c['name']) for c in read_json_categories(path)]
            problem = class_mismatch(classes, names)
            if problem is None:
                continue
            known = {}  # the command's arguments this dataset gives
            raw = raw_json_of(path)
            if name.startswith('train'):
                prefix = (dataset.get('data_prefix', None) or {}).get(
                    'img_path', None)
                if raw:
                    known['train_ann'] = raw
                if isinstance(prefix, str):
                    known['img_dir'] = _join(dataset.get('data_root', None),
                                             prefix)
            elif raw:
                known['val_ann'] = raw
            raise UserError(
                f'{config}: {key}.ann_file {path} has the categories '
                f'{names}, not the classes {list(classes)} of its '
                f'{_type_name(dataset)} (the json {problem}); for this '
                'dataset, write a config with: '
                f'{make_dataset_config_command(config, **known)}')
