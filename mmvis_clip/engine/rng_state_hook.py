"""Save every random-number state a training run draws from with each
checkpoint, and restore it on resume, so that a killed-and-resumed run
repeats the uninterrupted one (docs/reliability.md).

The states: Python's, NumPy's global, torch's CPU and CUDA generators; the
model's own (module attributes, and plain objects they hold, that are a
``torch.Generator``, ``np.random.Generator``, ``np.random.RandomState`` or
``random.Random``, or have ``rng_state_dict()`` /
``load_rng_state_dict(state)``); and those of persistent dataloader
workers (carried to the main process with each batch). Validation runs
between a save and a restore of the states. Exact for single-process
``EpochBasedTrainLoop`` runs resumed from an end-of-epoch checkpoint; the
log says when a resume cannot repeat the run.
"""
import random
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import get_worker_info

#: Key of the states in a checkpoint.
CHECKPOINT_KEY = 'rng_state'
#: Key under which a batch carries its worker's states.
WORKER_STATE_KEY = '_worker_rng_state'
#: Version of the saved layout.
FORMAT_VERSION = 1

_PROTOCOL = ('rng_state_dict', 'load_rng_state_dict')


def _numpy_state_to_dict(state: tuple) -> dict:
    """``np.random.get_state()`` as plain data and a tensor (no NumPy
    objects in the checkpoint)."""
    kind, key, pos, has_gauss, cached_gaussian = state
    return dict(
        kind=kind,
        key=torch.from_numpy(np.asarray(key, dtype=np.int64)),
        pos=int(pos),
        has_gauss=int(has_gauss),
        cached_gaussian=float(cached_gaussian))


def _numpy_state_from_dict(state: dict) -> tuple:
    return (state['kind'], state['key'].cpu().numpy().astype(np.uint32),
            state['pos'], state['has_gauss'], state['cached_gaussian'])


def _python_state_from_saved(state) -> tuple:
    """``random.getstate()`` with its tuples back (a state that went
    through a pickle or a queue keeps them, lists are accepted too)."""
    version, internal, gauss = state
    return version, tuple(internal), gauss


def process_rng_state(with_cuda: bool = True) -> Dict[str, Any]:
    """The process-wide generators' states.

    Args:
        with_cuda (bool): Include every CUDA device's generator when CUDA
            has been initialised in this process. Defaults to True.

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and, with CUDA, ``cuda``
        (a list, one state per device).
    """
    state = dict(
        python=random.getstate(),
        numpy=_numpy_state_to_dict(np.random.get_state()),
        torch=torch.get_rng_state())
    if with_cuda and torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_process_rng_state(state: Dict[str, Any]) -> List[str]:
    """Restore what :func:`process_rng_state` returned.

    Returns:
        list[str]: What could not be restored, as readable phrases (e.g.
        CUDA states saved on more devices than this process has).
    """
    problems = []
    random.setstate(_python_state_from_saved(state['python']))
    np.random.set_state(_numpy_state_from_dict(state['numpy']))
    torch.set_rng_state(state['torch'].cpu())
    cuda_states = state.get('cuda')
    if cuda_states is not None:
        if not torch.cuda.is_available():
            problems.append(f'the CUDA generators of {len(cuda_states)} '
                            'device(s) (no CUDA here)')
        else:
            count = min(len(cuda_states), torch.cuda.device_count())
            for device in range(count):
                torch.cuda.set_rng_state(cuda_states[device].cpu(), device)
            if count < len(cuda_states):
                problems.append(f'the CUDA generators of devices {count}-'
                                f'{len(cuda_states) - 1} (this process '
                                f'sees {count})')
    return problems


def _skipped(obj: Any) -> bool:
    """Values the generator search does not look into."""
    return isinstance(obj, (nn.Module, torch.Tensor, np.ndarray, str, bytes,
                            int, float, complex, bool, type(None), type)) \
        or callable(obj) and not hasattr(obj, '__dict__') \
        or type(obj).__module__ in ('builtins', 'types', 'functools')


def find_rng_owners(model: nn.Module,
                    max_depth: int = 3,
                    max_items: int = 256) -> Dict[str, Any]:
    """The generators ``model`` owns, by attribute path.

    Looks at the attributes of every module, and into the dicts, lists,
    tuples and plain objects they hold, ``max_depth`` levels deep, for
    ``torch.Generator``, ``np.random.Generator``, ``np.random.RandomState``
    and ``random.Random`` objects and for objects with ``rng_state_dict()`` and
    ``load_rng_state_dict(state)`` (whose inside is not searched).

    Args:
        model (nn.Module): The model.
        max_depth (int): Levels below a module attribute. Defaults to 3.
        max_items (int): Containers larger than this are not searched.
            Defaults to 256.

    Returns:
        dict[str, object]: ``'track_head.sampler'``-style paths (dict keys
        and list indices in brackets) to the owners.
    """
    found: Dict[str, Any] = {}
    seen = set()

    def visit(obj: Any, path: str, depth: int) -> None:
        if id(obj) in seen:
            return
        if all(callable(getattr(obj, name, None)) for name in _PROTOCOL) \
                and not isinstance(obj, type):
            seen.add(id(obj))
            found[path] = obj
            return
        if isinstance(obj, (torch.Generator, np.random.Generator,
                            np.random.RandomState, random.Random)):
            seen.add(id(obj))
            found[path] = obj
            return
        if depth <= 0:
            return
        if isinstance(obj, dict):
            items = [(f'{path}[{key!r}]', value)
                     for key, value in obj.items()]
        elif isinstance(obj, (list, tuple)):
            items = [(f'{path}[{i}]', value) for i, value in enumerate(obj)]
        elif _skipped(obj) or not hasattr(obj, '__dict__'):
            return
        else:
            items = [(f'{path}.{name}', value)
                     for name, value in vars(obj).items()]
        if len(items) > max_items:
            return
        seen.add(id(obj))
        for sub_path, value in items:
            visit(value, sub_path, depth - 1)

    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if attr in ('_parameters', '_buffers', '_modules') or \
                    isinstance(value, nn.Module):
                continue
            path = f'{name}.{attr}' if name else attr
            visit(value, path, max_depth)
    return found


def owner_rng_state(owner: Any) -> Any:
    """The state of one :func:`find_rng_owners` entry."""
    if isinstance(owner, torch.Generator):
        return dict(kind='torch', device=str(owner.device),
                    state=owner.get_state())
    if isinstance(owner, np.random.Generator):
        return dict(kind='numpy', state=owner.bit_generator.state)
    if isinstance(owner, np.random.RandomState):
        return dict(
            kind='numpy_legacy',
            state=_numpy_state_to_dict(owner.get_state(legacy=True)))
    if isinstance(owner, random.Random):
        return dict(kind='python', state=owner.getstate())
    return dict(kind='protocol', state=owner.rng_state_dict())


def set_owner_rng_state(owner: Any, saved: dict) -> None:
    """Restore what :func:`owner_rng_state` returned into ``owner``."""
    kind, state = saved['kind'], saved['state']
    if kind == 'torch':
        owner.set_state(state.cpu())
    elif kind == 'numpy':
        owner.bit_generator.state = state
    elif kind == 'numpy_legacy':
        owner.set_state(_numpy_state_from_dict(state))
    elif kind == 'python':
        owner.setstate(_python_state_from_saved(state))
    else:
        owner.load_rng_state_dict(state)


def _worker_state_to_saved(state: dict) -> dict:
    """A worker's states as sent through the dataloader queue (bytes and
    plain data) in the checkpoint's layout."""
    return dict(
        python=state['python'],
        numpy=_numpy_state_to_dict(state['numpy']),
        torch=torch.frombuffer(bytearray(state['torch']), dtype=torch.uint8))


class WorkerRngStateCollate:
    """A ``collate_fn`` that adds, in a dataloader worker, the worker's
    process-wide generator states to each (dict) batch, under
    :data:`WORKER_STATE_KEY` as ``(worker id, states)``.

    Args:
        collate_fn (Callable): The dataloader's collate function.
    """

    def __init__(self, collate_fn) -> None:
        self.collate_fn = collate_fn

    def __call__(self, batch):
        data = self.collate_fn(batch)
        info = get_worker_info()
        if info is not None and isinstance(data, dict):
            data[WORKER_STATE_KEY] = (info.id,
                                      dict(
                                          python=random.getstate(),
                                          numpy=np.random.get_state(),
                                          torch=torch.get_rng_state().numpy()
                                          .tobytes()))
        return data


class RestoreWorkerRngState:
    """A ``worker_init_fn`` that runs the dataloader's own and then sets the
    worker's generators to saved states.

    Args:
        worker_init_fn (Callable, optional): The dataloader's.
        states (dict[int, dict]): Saved states by worker id (in the layout
            of :func:`process_rng_state`, without CUDA).
    """

    def __init__(self, worker_init_fn, states: Dict[int, dict]) -> None:
        self.worker_init_fn = worker_init_fn
        self.states = states

    def __call__(self, worker_id: int) -> None:
        if self.worker_init_fn is not None:
            self.worker_init_fn(worker_id)
        state = self.states.get(worker_id)
        if state is not None:
            set_process_rng_state(state)


def _to_cpu(obj: Any) -> Any:
    """``obj`` with every tensor in its dicts, lists and tuples on the
    CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {key: _to_cpu(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(value) for value in obj)
    return obj


def _persistent_workers(dataloader) -> bool:
    return dataloader is not None and dataloader.num_workers > 0 and \
        bool(getattr(dataloader, 'persistent_workers', False))


def _model(runner) -> nn.Module:
    return runner.model.module if is_model_wrapper(runner.model) \
        else runner.model


def _snapshot(model: nn.Module) -> Tuple[dict, dict]:
    """The process-wide and the model's generator states."""
    return process_rng_state(), {
        path: owner_rng_state(owner)
        for path, owner in find_rng_owners(model).items()
    }


def _apply_snapshot(model: nn.Module,
                    snapshot: Tuple[dict, dict]) -> List[str]:
    """Restore what :func:`_snapshot` returned.

    Returns:
        list[str]: What could not be restored (see
        :func:`set_process_rng_state`).
    """
    process, owner_states = snapshot
    problems = set_process_rng_state(process)
    owners = find_rng_owners(model)
    for path, state in owner_states.items():
        if path in owners:
            set_owner_rng_state(owners[path], state)
        else:
            problems.append(f'the generator {path} (the model has none '
                            'there)')
    return problems


@HOOKS.register_module()
class RngStateHook(Hook):
    """Save the random-number states of a run with each checkpoint and
    restore them on resume (see the module documentation for which).

    Enabled for every config of this package by
    ``configs/_base_/default_runtime.py`` (``default_hooks.rng_state``).

    The states go under ``checkpoint['rng_state']``. A resumed checkpoint
    without them (saved without this hook), or whose states cannot all be
    restored here, is named in a warning: the run then continues from
    re-seeded generators and will not repeat the uninterrupted one.
    """

    # First among the hooks at every point it acts on: it takes the worker
    # states out of a batch before any other hook sees the batch.
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._worker_states: Dict[int, dict] = {}
        self._pending: Optional[dict] = None
        self._source = ''
        self._problems: List[str] = []
        self._restore_at_iter = False
        self._val_snapshot: Optional[Tuple[dict, dict]] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the states to ``checkpoint``."""
        process, owners = _snapshot(_model(runner))
        checkpoint[CHECKPOINT_KEY] = dict(
            version=FORMAT_VERSION,
            world_size=get_world_size(),
            process=process,
            owners=owners,
            # the loop's config until training builds it
            persistent_workers=_persistent_workers(
                getattr(runner._train_loop, 'dataloader', None)),
            workers=dict(sorted(self._worker_states.items())))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the states of a resumed checkpoint until training starts
        (mmengine's ``Runner.resume`` may re-seed after loading)."""
        if not runner._resume:
            return
        source = runner._load_from or 'the resumed checkpoint'
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            runner.logger.warning(
                f'{source} holds no random-number state (saved without '
                'RngStateHook): the resumed run draws from re-seeded '
                'generators and will not repeat the uninterrupted one.')
            return
        assert saved.get('version') == FORMAT_VERSION, saved.get('version')
        # a resume maps the checkpoint to the training device
        self._pending, self._source = _to_cpu(saved), source

    def before_train(self, runner) -> None:
        """Let persistent workers send their states with each batch, and
        prepare the restoring of a resumed checkpoint's states."""
        loop = runner.train_loop
        dataloader = loop.dataloader
        persistent = _persistent_workers(dataloader)
        if persistent and not isinstance(dataloader.collate_fn,
                                         WorkerRngStateCollate):
            dataloader.collate_fn = WorkerRngStateCollate(
                dataloader.collate_fn)
        if self._pending is None:
            return
        saved = self._pending
        if saved['world_size'] != 1 or get_world_size() != 1:
            runner.logger.warning(
                f'{self._source}: the random-number states of runs with more '
                f'than one process are not restored (saved by '
                f'{saved["world_size"]} process(es), resumed by '
                f'{get_world_size()}): the resumed run draws from re-seeded '
                'generators and will not repeat the uninterrupted one.')
            self._pending = None
            return
        self._problems = []
        if persistent and saved['persistent_workers']:
            if not saved['workers'] and loop.iter > 0 and isinstance(
                    loop, EpochBasedTrainLoop):
                self._problems.append(
                    'the dataloader workers\' generators (none were '
                    'captured: the batches are not dicts)')
            self._worker_states = dict(saved['workers'])
            dataloader.worker_init_fn = RestoreWorkerRngState(
                dataloader.worker_init_fn, self._worker_states)
        elif persistent != saved['persistent_workers']:
            self._problems.append(
                'the dataloader workers\' generators (saved with '
                f'persistent_workers={saved["persistent_workers"]}, resumed '
                f'with {persistent})')
        if isinstance(loop, EpochBasedTrainLoop) and \
                loop.iter != loop.epoch * len(dataloader):
            runner.logger.warning(
                f'{self._source} was saved in the middle of epoch '
                f'{loop.epoch + 1} (iteration {loop.iter}): an epoch-based '
                'loop restarts that epoch from its first batch, so the '
                'resumed run will not repeat the uninterrupted one.')
        # Persistent workers draw their base seed once, at the start: restore
        # after that draw (first iteration). Otherwise each epoch's iterator
        # draws one: restore before it. Iteration-based loops replay the
        # consumed batches first: restore after them.
        self._restore_at_iter = persistent or not isinstance(
            loop, EpochBasedTrainLoop)

    def before_train_epoch(self, runner) -> None:
        if self._pending is not None and not self._restore_at_iter:
            self._restore(runner)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Any = None) -> None:
        """Record the states a worker sent with ``data_batch`` (and take
        them out of it)."""
        if isinstance(data_batch, dict) and WORKER_STATE_KEY in data_batch:
            worker_id, state = data_batch.pop(WORKER_STATE_KEY)
            self._worker_states[worker_id] = _worker_state_to_saved(state)
        if self._pending is not None and self._restore_at_iter:
            self._restore(runner)

    def _restore(self, runner) -> None:
        saved, self._pending = self._pending, None
        problems = self._problems + _apply_snapshot(
            _model(runner), (saved['process'], saved['owners']))
        if problems:
            runner.logger.warning(
                f'{self._source}: not restored: {"; ".join(problems)}. The '
                'resumed run will not repeat the uninterrupted one.')
        else:
            runner.logger.info(
                f'Random-number states restored from {self._source}')

    def before_val(self, runner) -> None:
        """Keep the training stream's states while validating."""
        self._val_snapshot = _snapshot(_model(runner))

    def after_val(self, runner) -> None:
        if self._val_snapshot is not None:
            _apply_snapshot(_model(runner), self._val_snapshot)
            self._val_snapshot = None
