"""Read a checkpoint and load it into a model, refusing what does not fit
(unlike mmengine's ``load_from``, which loads what matches and warns).

A model's load-state-dict pre-hook that converts another layout marks the
state dict (:func:`mark_converted`); ``allow_converted`` then accepts what
the conversion leaves unloaded, but not tensors it leaves without a place.
"""
import os.path as osp
import re
import zipfile
from collections import OrderedDict, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from .user_errors import UserError, one_line


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that cannot be read or does not fit the model; the
    message names the file (and the keys at fault)."""


#: Attribute a converting pre-hook sets on the state dict it rewrote.
CONVERTED_ATTR = '_mmvis_converted_from'

#: How many keys of each kind an error message names.
NUM_KEYS_SHOWN = 3
#: How many keys of each kind the table of a partial load lists.
MAX_KEYS_LISTED = 20


def mark_converted(state_dict: dict, description: str) -> None:
    """Record, from a load-state-dict pre-hook, that it converted
    ``state_dict`` from another model's layout.

    Args:
        state_dict (dict): The state dict the hook received and rewrote.
        description (str): What the checkpoint is, e.g. ``'an mmdet
            CondInst detector'``.
    """
    try:
        setattr(state_dict, CONVERTED_ATTR, description)
    except AttributeError:  # a plain dict: not loaded through torch
        pass


def _is_local(filename: str) -> bool:
    return '://' not in filename and '::' not in filename


def check_checkpoint_file(filename: str) -> None:
    """Refuse, without reading it whole, a local checkpoint that is
    missing, a directory, empty, or neither a zip nor a pickle (URLs and
    other schemes pass).

    Args:
        filename (str): The checkpoint path.

    Raises:
        FileNotFoundError: It does not exist.
        CheckpointError: It is not a readable checkpoint file.
    """
    if not _is_local(filename):
        return
    path = osp.expanduser(filename)
    if not osp.exists(path):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    if osp.isdir(path):
        raise CheckpointError(
            f'checkpoint {filename} is a directory, not a checkpoint file')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'checkpoint {filename} is empty (0 bytes)')
    with open(path, 'rb') as f:
        head = f.read(4)
    if zipfile.is_zipfile(path):
        return
    if head.startswith(b'PK'):
        raise CheckpointError(
            f'checkpoint {filename} is truncated: a zip without its '
            'directory (was its writing interrupted?)')
    if head[:1] != b'\x80':  # pickle protocol 2+ (torch's legacy format)
        raise CheckpointError(
            f'checkpoint {filename} is not a PyTorch checkpoint (neither '
            f'a zip nor a pickle; it starts with {head!r})')


def read_checkpoint(filename: str, map_location='cpu') -> dict:
    """Load a checkpoint file (or URL) with mmengine's loader.

    Args:
        filename (str): Local path, URL or mmengine scheme.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint (a dict with ``state_dict`` and ``meta``, or
        a bare state dict).

    Raises:
        FileNotFoundError: A local file that does not exist.
        CheckpointError: Anything else that stops it being read.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    check_checkpoint_file(filename)
    try:
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
    except Exception as err:  # torch.load: EOFError, UnpicklingError, ...
        first = one_line(err).split(' | ')[0]
        raise CheckpointError(
            f'checkpoint {filename} cannot be read ({type(err).__name__}: '
            f'{first}); is it truncated, or not a checkpoint?') from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'checkpoint {filename} holds a {type(checkpoint).__name__}, '
            'not a dict of weights')
    return checkpoint


class LoadReport:
    """What loading a state dict into a model did.

    Attributes:
        source (str): The checkpoint's name (for messages).
        loaded (list[str]): Model keys given a value.
        missing (list[str]): Model keys the checkpoint does not give.
        unexpected (list[str]): Checkpoint keys the model does not have.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``
            of the tensors left out.
        converted_from (str, optional): Set by :func:`mark_converted`.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.loaded: List[str] = []
        self.missing: List[str] = []
        self.unexpected: List[str] = []
        self.mismatched: List[Tuple[str, tuple, tuple]] = []
        self.converted_from: Optional[str] = None

    @property
    def exact(self) -> bool:
        """Whether every model tensor was loaded and nothing was left."""
        return not (self.missing or self.unexpected or self.mismatched)

    def problems(self, num: int = NUM_KEYS_SHOWN) -> str:
        """One line: the counts and first ``num`` keys of each kind."""
        def first(keys):
            more = f', ... ({len(keys) - num} more)' if len(keys) > num \
                else ''
            return ', '.join(keys[:num]) + more

        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} model keys missing from it '
                         f'({first(self.missing)})')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} keys the model does not '
                         f'have ({first(self.unexpected)})')
        if self.mismatched:
            shapes = [
                f'{k} {tuple(a)} in the checkpoint, {tuple(b)} in the model'
                for k, a, b in self.mismatched
            ]
            parts.append(f'{len(self.mismatched)} of other shapes '
                         f'({first(shapes)})')
        return '; '.join(parts)

    def table(self) -> str:
        """Loaded / shape-mismatched / unexpected / missing counts per
        module group, then every key left out."""
        columns = ('loaded', 'other shape', 'not in model', 'not in ckpt')
        counts: Dict[str, Dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(columns, 0))
        for column, keys in zip(columns, (self.loaded,
                                          [k for k, _, _ in self.mismatched],
                                          self.unexpected, self.missing)):
            for key in keys:
                counts[_group(key)][column] += 1
        what = f' ({self.converted_from})' if self.converted_from else ''
        lines = [
            f'checkpoint {self.source}{what} loaded in part: '
            f'{len(self.loaded)} tensors loaded, {len(self.mismatched)} of '
            f'other shapes and {len(self.unexpected)} not in the model '
            f'skipped, {len(self.missing)} model tensors not in it keep '
            'their initial values:'
        ] + group_count_table(counts, columns, 12)
        for entries in ([
                f'skipped: {key}: shape {tuple(a)} in the checkpoint, '
                f'{tuple(b)} in the model' for key, a, b in self.mismatched
        ], [f'skipped: {key}: not in the model' for key in self.unexpected],
                        [f'not in checkpoint: {key}'
                         for key in self.missing]):
            lines.extend(entries[:MAX_KEYS_LISTED])
            if len(entries) > MAX_KEYS_LISTED:
                lines.append(f'... and {len(entries) - MAX_KEYS_LISTED} '
                             'more (counted in the table)')
        return '\n'.join(lines)


def _group(key: str) -> str:
    """A key's module group: ``backbone``, else its first two names (one
    more under STC's ``detector.``)."""
    parts = key.split('.')
    lead = 1 if parts[0] == 'detector' else 0
    depth = lead + (1 if parts[lead:lead + 1] == ['backbone'] else 2)
    return '.'.join(parts[:max(1, min(depth, len(parts) - 1))])


def load_state_dict_checked(model: nn.Module, state_dict: dict,
                            source: str) -> LoadReport:
    """Load what fits of ``state_dict`` into ``model`` (after its own
    pre-hooks) and report the rest.

    Args:
        model (nn.Module): The model (not a wrapper).
        state_dict (dict): Weights, keys as in ``model.state_dict()``.
        source (str): The checkpoint's name, for the report.

    Returns:
        LoadReport: What was loaded and what was not.
    """
    report = LoadReport(source)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}

    def observe(module, local_state, prefix, *args):
        # registered last: sees the state dict as the model's hooks left it
        report.converted_from = getattr(local_state, CONVERTED_ATTR, None)
        for key in list(local_state):
            value = local_state[key]
            shape = shapes.get(key)
            if shape is not None and hasattr(value, 'shape') and tuple(
                    value.shape) != shape:
                report.mismatched.append((key, tuple(value.shape), shape))
                del local_state[key]
        report.loaded = [k for k in local_state if k in shapes]

    state = OrderedDict(state_dict)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        state._metadata = metadata
    handle = model.register_load_state_dict_pre_hook(observe)
    try:
        result = model.load_state_dict(state, strict=False)
    finally:
        handle.remove()
    mismatched = {k for k, _, _ in report.mismatched}
    # BN's num_batches_tracked is filled in when absent (as mmengine does)
    report.missing = [
        k for k in result.missing_keys
        if k not in mismatched and not k.endswith('num_batches_tracked')
    ]
    report.unexpected = list(result.unexpected_keys)
    return report


def load_checkpoint_checked(model: nn.Module,
                            filename: str,
                            *,
                            checkpoint: Optional[dict] = None,
                            allow_partial: bool = False,
                            allow_converted: bool = False,
                            map_location='cpu',
                            revise_keys: Sequence[Tuple[str, str]] = (
                                (r'^module\.', ''), ),
                            what: str = 'the model',
                            partial_hint: str = 'give --partial-load',
                            logger: Optional[str] = 'current') -> dict:
    """Load a checkpoint into ``model``, refusing one that does not fit.

    Args:
        model (nn.Module): The model (or a wrapper of it).
        filename (str): The checkpoint (local path, URL or mmengine
            scheme).
        checkpoint (dict, optional): The checkpoint already read; read
            here if None.
        allow_partial (bool): Load what fits and log a table of the loaded
            and skipped tensors. Defaults to False.
        allow_converted (bool): Accept the partial result of a conversion
            (:func:`mark_converted`) that places every checkpoint tensor,
            logging the table. Defaults to False.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.
        revise_keys (Sequence[tuple[str, str]]): ``(pattern,
            replacement)`` regexes for the keys. Defaults to stripping a
            leading ``module.``.
        what (str): The model, as error messages name it.
        partial_hint (str): How the refusal says to load in part.
        logger (str, optional): ``print_log``'s logger for the table.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        CheckpointError: It cannot be read, nothing of it fits, or it
            does not fit exactly and no partial load is allowed.
    """
    if checkpoint is None:
        checkpoint = read_checkpoint(filename, map_location)
    if is_model_wrapper(model):
        model = model.module
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(f'checkpoint {filename} holds no weights')
    metadata = getattr(state_dict, '_metadata', None)
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict(
            (re.sub(pattern, replacement, k), v)
            for k, v in state_dict.items())
    if metadata is not None:
        state_dict._metadata = metadata
    report = load_state_dict_checked(model, state_dict, filename)
    if not report.loaded:
        raise CheckpointError(
            f'checkpoint {filename} does not fit {what}: none of its '
            f'tensors is loaded; {report.problems()}')
    if report.exact:
        return checkpoint
    if allow_partial:
        print_log(report.table(), logger=logger)
        return checkpoint
    if allow_converted and report.converted_from:
        # a conversion places every tensor of the layout it is for:
        # tensors left without a place are another model's
        if report.unexpected:
            raise CheckpointError(
                f'checkpoint {filename} does not fit {what}: it is another '
                f'model\'s (converted as '
                f'{report.converted_from.rstrip(".")}, it leaves '
                f'{report.problems()}); to load only what fits, '
                f'{partial_hint}')
        print_log(report.table(), logger=logger)
        return checkpoint
    raise CheckpointError(
        f'checkpoint {filename} does not fit {what}: {report.problems()}; '
        f'to load only what fits, {partial_hint}')


def group_count_table(counts: Dict[str, Dict[str, int]],
                      columns: Sequence[str], cell: int) -> List[str]:
    """Lines of a table of tensor counts per module group, with a total.

    Args:
        counts (dict[str, dict[str, int]]): Group -> column -> count.
        columns (Sequence[str]): Column names, in order.
        cell (int): Width of a count column.

    Returns:
        list[str]: Header, rule, one line per group (sorted), rule, total.
    """
    width = max([len('group'), len('total')] + [len(g) for g in counts])
    head = f'{"group":<{width}}' + ''.join(f' {c:>{cell}}' for c in columns)
    lines = [head, '-' * len(head)]
    total = dict.fromkeys(columns, 0)
    for group in sorted(counts):
        lines.append(f'{group:<{width}}' + ''.join(
            f' {counts[group][c]:>{cell}}' for c in columns))
        for c in columns:
            total[c] += counts[group][c]
    lines.append('-' * len(head))
    lines.append(f'{"total":<{width}}' +
                 ''.join(f' {total[c]:>{cell}}' for c in columns))
    return lines
