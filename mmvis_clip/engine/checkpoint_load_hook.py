"""Load ``load_from`` / ``tools/test.py``'s checkpoint strictly."""
from typing import Dict, Optional, Sequence

from mmdet.registry import HOOKS, MODELS
from mmengine.config import Config
from mmengine.hooks import Hook

from ..utils.checkpoint_loading import (CheckpointError,
                                        load_checkpoint_checked,
                                        read_checkpoint)


def checkpoint_classes(checkpoint: dict) -> Optional[list]:
    """The classes a checkpoint was trained on: its
    ``meta['dataset_meta']['classes']`` (``CLASSES`` in older ones).

    Args:
        checkpoint (dict): The loaded checkpoint.

    Returns:
        list[str] | None: None when its meta does not say.
    """
    meta = checkpoint.get('meta', None)
    dataset_meta = meta.get('dataset_meta', None) if isinstance(
        meta, dict) else None
    if not isinstance(dataset_meta, dict):
        return None
    classes = dataset_meta.get('classes', dataset_meta.get('CLASSES'))
    if not classes or isinstance(classes, str):
        return None
    return [str(c) for c in classes]


def check_checkpoint_classes(checkpoint: dict, filename: str,
                             classes: Optional[Sequence[str]], config: str,
                             dataset: str) -> None:
    """Refuse a checkpoint trained on other classes than ``classes``.

    Args:
        checkpoint (dict): The loaded checkpoint.
        filename (str): Its file, for the message.
        classes (Sequence[str], optional): The classes of the dataset it
            is about to be tested on; None skips the check.
        config (str): The config, for the message.
        dataset (str): The dataset (key and annotation file), for the
            message.

    Raises:
        CheckpointError: One line naming the checkpoint, the config, both
            class lists and the fix.
    """
    trained = checkpoint_classes(checkpoint)
    if trained is None or classes is None:
        return
    classes = [str(c) for c in classes]
    if trained == classes:
        return
    raise CheckpointError(
        f'checkpoint {filename} was trained on the classes {trained} (its '
        f'meta.dataset_meta), but config {config} tests on {classes} '
        f'({dataset}); test it with the config it was trained with (a '
        'copy is in its work directory), or train this config first')


#: Sub-dicts of a model config without weights of their own: two models
#: that differ only there are the same model.
NO_WEIGHT_KEYS = ('tracker', 'data_preprocessor', 'anchor_generator',
                  'prior_generator', 'point_generator', 'bbox_coder')


def checkpoint_config(checkpoint: dict) -> Optional[Config]:
    """The config a checkpoint was trained with: the text mmengine's
    Runner saves in ``meta['cfg']``.

    Args:
        checkpoint (dict): The loaded checkpoint.

    Returns:
        Config | None: None when its meta has no config this mmengine
        reads.
    """
    meta = checkpoint.get('meta', None)
    text = meta.get('cfg', None) if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return Config.fromstring(text, '.py')
    except Exception:  # not a config this mmengine reads: not compared
        return None


def checkpoint_model_cfg(checkpoint: dict) -> Optional[dict]:
    """The ``model`` of :func:`checkpoint_config`, or None."""
    cfg = checkpoint_config(checkpoint)
    model = cfg.get('model', None) if cfg is not None else None
    return model.to_dict() if isinstance(model, dict) else None


def _type_name(kind) -> str:
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return str(name).split('.')[-1]


def model_structure(model_cfg: dict, prefix: str = '') -> Dict[str, str]:
    """The module types of a model config that hold weights.

    Args:
        model_cfg (dict): A model config.
        prefix (str): Prefix of the dotted keys.

    Returns:
        dict[str, str]: Dotted key (``''`` for the model) -> type name;
        ``*_cfg``, ``loss*`` and :data:`NO_WEIGHT_KEYS` sub-dicts left out.
    """
    structure = {}
    if not prefix and 'type' in model_cfg:
        structure[''] = _type_name(model_cfg['type'])
    for key, value in model_cfg.items():
        if not isinstance(value, dict) or key.endswith('_cfg') or \
                key.startswith('loss') or key in NO_WEIGHT_KEYS:
            continue
        name = f'{prefix}{key}'
        if 'type' in value:
            structure[name] = _type_name(value['type'])
        structure.update(model_structure(value, name + '.'))
    return structure


def _is_package_model(kind: str) -> bool:
    try:
        cls = MODELS.get(kind)
    except Exception:  # an unknown scope
        return False
    return getattr(cls, '__module__', '').startswith('mmvis_clip.')


def check_same_model(checkpoint: dict, filename: str,
                     model_cfg: Optional[dict], what: str) -> None:
    """Refuse, before it is converted, a checkpoint whose ``meta['cfg']``
    names another of this package's models than ``model_cfg``, or one with
    other modules (others are left to the conversion).

    Args:
        checkpoint (dict): The loaded checkpoint.
        filename (str): Its file, for the message.
        model_cfg (dict, optional): The config of the model it would be
            loaded into.
        what (str): The model, as the message names it.

    Raises:
        CheckpointError: One line naming the checkpoint, the first modules
            that differ and ``--partial-load``.
    """
    recorded = checkpoint_model_cfg(checkpoint)
    if recorded is None or not isinstance(model_cfg, dict) or \
            not _is_package_model(_type_name(recorded.get('type'))):
        return
    theirs, mine = model_structure(recorded), model_structure(model_cfg)
    differ = [
        key for key in sorted(set(theirs) | set(mine))
        if theirs.get(key) != mine.get(key)
    ]
    if not differ:
        return
    if differ[0] == '':  # another model class: its modules differ too
        differ = differ[:1]
    shown = '; '.join(
        f'{key or "model"}: {theirs.get(key, "none")} in the checkpoint, '
        f'{mine.get(key, "none")} in the model' for key in differ[:3])
    raise CheckpointError(
        f'checkpoint {filename} does not fit {what}: it is another '
        f'model\'s (its meta.cfg: {shown}); to load only what fits, give '
        '--partial-load')


@HOOKS.register_module()
class CheckpointLoadHook(Hook):
    """Load a checkpoint into the runner's model before it trains or tests
    (once, after weight init, as ``load_from``), refusing one whose keys or
    shapes differ from the model's; a resumed run keeps its weights.

    Args:
        checkpoint (str): Checkpoint path, URL or mmengine scheme.
        partial (bool): Load what fits of any checkpoint and log a table
            of the loaded / skipped tensors. Defaults to False.
        converted (bool): Accept, with the table, the partial result of a
            checkpoint the model converts from another layout, but not one
            of another model. Defaults to False.
        map_location (str, optional): As for ``torch.load``. Defaults to
            ``'cpu'``.
        check_classes (bool): Before testing, refuse a checkpoint whose
            meta names other classes than the test dataset's. Defaults to
            False.
    """

    priority = 'HIGHEST'

    def __init__(self,
                 checkpoint: str,
                 partial: bool = False,
                 converted: bool = False,
                 map_location: Optional[str] = 'cpu',
                 check_classes: bool = False) -> None:
        self.checkpoint = checkpoint
        self.partial = partial
        self.converted = converted
        self.map_location = map_location
        self.check_classes = check_classes
        self._loaded = False

    def _check_classes(self, runner, checkpoint: dict, config: str) -> None:
        dataset = runner.test_dataloader.dataset
        metainfo = getattr(dataset, 'metainfo', None) or {}
        classes = metainfo.get('classes', None)
        where = 'test_dataloader.dataset'
        if getattr(dataset, 'ann_file', None):
            where += f' {dataset.ann_file}'
        check_checkpoint_classes(checkpoint, self.checkpoint, classes,
                                 config, where)

    def _load(self, runner, phase: str = 'train') -> None:
        if self._loaded:
            return
        self._loaded = True
        if runner._has_loaded:  # resumed (mmengine's load_or_resume)
            runner.logger.info(f'{self.checkpoint} not loaded: the run '
                               'resumed from a checkpoint of its own')
            return
        checkpoint = read_checkpoint(self.checkpoint, self.map_location)
        config = getattr(runner.cfg, 'filename', None)
        what = f'the model of {config}' if config else 'the model'
        if self.converted and not self.partial:
            check_same_model(checkpoint, self.checkpoint,
                             runner.cfg.get('model', None), what)
        if self.check_classes and phase == 'test':
            self._check_classes(runner, checkpoint, config or 'the config')
        runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        load_checkpoint_checked(
            runner.model,
            self.checkpoint,
            checkpoint=checkpoint,
            allow_partial=self.partial,
            allow_converted=self.converted,
            what=what)
        runner.logger.info(f'Load checkpoint from {self.checkpoint}')

    def before_train(self, runner) -> None:
        self._load(runner)

    def before_val(self, runner) -> None:
        self._load(runner, 'val')

    def before_test(self, runner) -> None:
        self._load(runner, 'test')
