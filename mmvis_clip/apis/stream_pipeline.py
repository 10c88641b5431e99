"""The config's test pipeline, applied to frames held in memory."""
import copy
from typing import List, Sequence

import numpy as np
from mmcv.transforms import Compose
from mmengine.config import Config

#: Transforms of a test pipeline that read annotations; a stream has none.
ANNOTATION_LOADERS = ('LoadTrackAnnotations', 'LoadAnnotations')


def _config_name(cfg: Config) -> str:
    return cfg.filename or '<Config object>'


def _test_pipeline_cfg(cfg: Config) -> List[dict]:
    dataloader = cfg.get('test_dataloader', None)
    if dataloader is not None and dataloader.get('dataset', None) is not None:
        dataset = dataloader['dataset']
        # wrapped datasets (e.g. ConcatDataset) keep the pipeline inside
        while 'pipeline' not in dataset and 'dataset' in dataset:
            dataset = dataset['dataset']
        if 'pipeline' in dataset:
            return copy.deepcopy(list(dataset['pipeline']))
    if cfg.get('test_pipeline', None) is not None:
        return copy.deepcopy(list(cfg.test_pipeline))
    raise KeyError(f'config {_config_name(cfg)} has no test pipeline '
                   '(test_dataloader.dataset.pipeline or test_pipeline)')


def build_stream_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline for frames given as arrays
    (``LoadImageFromNDArray``, no annotation loader): from
    :func:`stream_inputs` to ``inputs`` (T, 3, H, W) and a
    ``TrackDataSample`` of T frames.

    Raises:
        KeyError: If the config has no test pipeline.
        ValueError: If the test pipeline is not a ``TransformBroadcaster``
            followed by ``PackTrackInputs`` or loads no image.
    """
    name = _config_name(cfg)
    pipeline = _test_pipeline_cfg(cfg)
    types = [t.get('type') for t in pipeline]
    if (len(pipeline) != 2 or types[0] != 'TransformBroadcaster'
            or types[1] != 'PackTrackInputs'):
        raise ValueError(
            f'config {name}: the frame-stream API expects a test pipeline '
            '[TransformBroadcaster(transforms=[...]), PackTrackInputs], '
            f'got {types}')
    broadcaster = pipeline[0]
    transforms = []
    found_loader = False
    for transform in broadcaster['transforms']:
        if transform['type'] in ANNOTATION_LOADERS:
            continue
        if transform['type'] == 'LoadImageFromFile':
            transform = dict(transform, type='LoadImageFromNDArray')
            found_loader = True
        transforms.append(transform)
    if not found_loader:
        raise ValueError(
            f'config {name}: the test pipeline has no '
            'LoadImageFromFile inside its TransformBroadcaster')
    broadcaster = dict(broadcaster, transforms=transforms)
    return Compose([broadcaster, pipeline[1]])


def stream_inputs(frames: Sequence[np.ndarray],
                  frame_ids: Sequence[int]) -> dict:
    """The pipeline input of frames ``frame_ids`` of a stream (``img_id``
    is the frame id; no video length).

    Args:
        frames (Sequence[np.ndarray]): (H, W, 3) uint8 BGR frames.
        frame_ids (Sequence[int]): Their indices in the stream.
    """
    return dict(
        img=list(frames),
        frame_id=[int(i) for i in frame_ids],
        img_id=[int(i) for i in frame_ids],
        ori_shape=[frame.shape[:2] for frame in frames])
