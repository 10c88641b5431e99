"""Build a video instance segmentation model for inference."""
import copy
import os
import warnings
from typing import Optional, Union

import torch
import torch.nn as nn
from mmdet.models.mot import BaseMOTModel
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from ..engine.config_checks import load_config, merge_cfg_options
from ..utils.checkpoint_loading import load_checkpoint_checked
from ..utils.user_errors import UserError


class NotAVideoModelError(UserError, TypeError):
    """The config's model is not a video model with a tracker."""


def _dataset_meta_from_config(cfg: Config) -> Optional[dict]:
    """``metainfo`` of the config's test dataset class (and of its
    ``metainfo`` override), without reading any annotation file."""
    dataloader = cfg.get('test_dataloader', None)
    if dataloader is None or dataloader.get('dataset', None) is None:
        return None
    dataset = dataloader['dataset']
    # dataset wrappers (e.g. ConcatDataset) hold the dataset inside
    while 'pipeline' not in dataset and isinstance(
            dataset.get('dataset', None), dict):
        dataset = dataset['dataset']
    dataset_cls = DATASETS.get(dataset.get('type', ''))
    meta = copy.deepcopy(dict(getattr(dataset_cls, 'METAINFO', {}) or {}))
    meta.update(copy.deepcopy(dict(dataset.get('metainfo', None) or {})))
    return meta if meta.get('classes') else None


def resolve_device(device: Optional[Union[str, torch.device]] = None) -> str:
    """``device`` (str) when given, else ``'cuda:0'`` when CUDA is
    available, else ``'cpu'``."""
    if device is not None:
        return str(device)
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def check_device(device: Optional[Union[str, torch.device]] = None,
                 what: str = 'device') -> str:
    """:func:`resolve_device`, refusing a device this machine lacks.

    Args:
        device (str | torch.device, optional): E.g. ``'cuda:1'``; None
            picks the default.
        what (str): How messages name it, e.g. ``'--device'``.

    Returns:
        str: The device.

    Raises:
        UserError: A misspelt device, CUDA without a GPU, a GPU index
            beyond those visible.
    """
    device = resolve_device(device)
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise UserError(f'{what} {device}: {err}') from None
    if parsed.type == 'cuda':
        if not torch.cuda.is_available():
            raise UserError(f'{what} {device}: CUDA is not available here')
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise UserError(
                f'{what} {device}: this machine shows {count} GPU(s) '
                f'(cuda:0 to cuda:{count - 1})')
    return device


def init_vis_model(config: Union[str, os.PathLike, Config],
                   checkpoint: Optional[str] = None,
                   device: Optional[str] = None,
                   cfg_options: Optional[dict] = None,
                   strict: bool = True) -> nn.Module:
    """Build a video instance segmentation model ready for inference, as
    ``mmdet.apis.init_track_model``: in eval mode on ``device``, with
    ``cfg`` and ``dataset_meta`` (the checkpoint's, else the config's test
    dataset's).

    Args:
        config (str | PathLike | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; None keeps the
            random initialisation.
        device (str, optional): E.g. ``'cpu'`` or ``'cuda:0'``. Defaults
            to None: ``'cuda:0'`` when CUDA is available, else ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config,
            e.g. ``{'model.tracker.num_frames_retain': 5}``.
        strict (bool): Refuse a checkpoint whose keys or shapes do not
            match the model. Defaults to True.

    Returns:
        nn.Module: The model, with ``cfg`` and ``dataset_meta``.

    Raises:
        FileNotFoundError: If the config or checkpoint does not exist.
        UserError: An unknown device (:func:`check_device`), a config that
            cannot be loaded, a bad ``cfg_options`` key or an unregistered
            model type.
        NotAVideoModelError: The model is not an mmdet ``BaseMOTModel``
            with a tracker (a ``TypeError``).
        CheckpointError: The checkpoint cannot be read or does not fit the
            model (a ``RuntimeError``).
    """
    device = check_device(device)
    if isinstance(config, (str, os.PathLike)):
        config = load_config(os.fspath(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options is not None:
        merge_cfg_options(config, cfg_options)
    if config.get('custom_imports', None):
        import_modules_from_strings(**config['custom_imports'])
    init_default_scope(config.get('default_scope', 'mmdet'))

    name = config.filename or '<Config object>'
    model_type = config.model.get('type')
    model_cls = MODELS.get(model_type) if isinstance(model_type,
                                                     str) else model_type
    if model_cls is None:
        raise UserError(f'config {name}: model type {model_type!r} is not '
                        'registered')
    if not (isinstance(model_cls, type)
            and issubclass(model_cls, BaseMOTModel)):
        raise NotAVideoModelError(
            f'config {name} is not a video model: its model {model_type} '
            'is not an mmdet BaseMOTModel')
    model = MODELS.build(config.model)
    if getattr(model, 'tracker', None) is None:
        raise NotAVideoModelError(
            f'config {name} is not a video model: its model {model_type} '
            'has no tracker')

    dataset_meta = None
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        ckpt = load_checkpoint_checked(
            model,
            checkpoint,
            allow_partial=not strict,
            what=f'the model of config {name}')
        meta = ckpt.get('meta', {})
        meta = meta if isinstance(meta, dict) else {}
        dataset_meta = copy.deepcopy(meta.get('dataset_meta', None))
        if dataset_meta and 'CLASSES' in dataset_meta:
            dataset_meta['classes'] = dataset_meta.pop('CLASSES')
    if not dataset_meta:
        dataset_meta = _dataset_meta_from_config(config)
    if not dataset_meta:
        warnings.warn(f'config {name}: no class names in the checkpoint '
                      'or the test dataset; labels are shown as indices')
        dataset_meta = dict(classes=None)
    if not device.startswith('cuda'):
        model = revert_sync_batchnorm(model)
    model.dataset_meta = dataset_meta
    model.cfg = config
    model.to(device)
    model.eval()
    return model
