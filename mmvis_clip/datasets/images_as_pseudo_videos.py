"""An image instance dataset (COCO format) as a dataset of pseudo-videos."""
import copy
from typing import List, Optional, Sequence, Union

import mmengine
import numpy as np
from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset, Compose, force_full_init

from ..utils.user_errors import UserError

#: Mild per-frame view change of a pseudo-video (:class:`MaskRandomAffine`
#: with its defaults: rotation <= 5 degrees, scale 0.9-1.2, translation
#: <= 5 %, shear <= 2 degrees).
DEFAULT_FRAME_TRANSFORM = dict(type='MaskRandomAffine')


@DATASETS.register_module()
class ImagesAsPseudoVideos:
    """Serve each image of an instance dataset as a short pseudo-video.

    Sample ``i`` is image ``i`` of ``dataset`` (loaded and augmented by its
    own pipeline, unpacked) turned into ``num_frames`` frames by
    ``ImageAsClip`` with ``frame_transform``, then ``pipeline``: the
    layout of the video pipeline. ``get_data_info`` answers as mmdet's
    video datasets (``images``: the one image, ``video_length`` 1). Label
    ``i`` of ``dataset`` must be ``metainfo['classes'][i]``.

    Args:
        dataset (dict | BaseDataset): The image dataset or its config.
        num_frames (int): Frames per pseudo-video. Defaults to 2.
        frame_transform (dict | list[dict], optional): Per-frame transform
            (see ``ImageAsClip``). Defaults to
            :data:`DEFAULT_FRAME_TRANSFORM`; None for identical frames.
        pipeline (list[dict]): Transforms after ``ImageAsClip``. Defaults
            to ``[dict(type='PackTrackInputs')]``.
        max_refetch (int): Other images to try when the pipeline returns
            None. Defaults to 1000.
        lazy_init (bool): Defer loading the image dataset. Defaults to
            False.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 num_frames: int = 2,
                 frame_transform: Optional[Union[
                     dict, List[dict]]] = DEFAULT_FRAME_TRANSFORM,
                 pipeline: Sequence[dict] = (dict(type='PackTrackInputs'), ),
                 max_refetch: int = 1000,
                 lazy_init: bool = False) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(
            dataset, dict) else dataset
        packing = [
            type(t).__name__ for t in getattr(self.dataset.pipeline,
                                              'transforms', [])
            if type(t).__name__.startswith('Pack')
        ]
        if packing:
            raise UserError(
                f'ImagesAsPseudoVideos: the pipeline of its image dataset '
                f'({type(self.dataset).__name__}, '
                f'{getattr(self.dataset, "ann_file", "")}) packs with '
                f'{packing[0]}; end it before packing (PackTrackInputs '
                'comes in the pipeline of ImagesAsPseudoVideos)')
        self.num_frames = num_frames
        self.pipeline = Compose([
            dict(
                type='ImageAsClip',
                num_frames=num_frames,
                frame_transform=copy.deepcopy(frame_transform))
        ] + list(pipeline))
        self.max_refetch = max_refetch
        self._metainfo = self.dataset.metainfo
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The image dataset's meta information."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Load the image dataset and check its labels."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        self._check_labels()
        self._fully_initialized = True

    def _check_labels(self) -> None:
        """Label ``i`` of a COCO-style dataset is ``classes[i]``."""
        cat_ids = getattr(self.dataset, 'cat_ids', None)
        ann_file = getattr(self.dataset, 'ann_file', None)
        if cat_ids is None or not ann_file:
            return
        classes = list(self._metainfo['classes'])
        categories = mmengine.load(
            ann_file,
            backend_args=getattr(self.dataset, 'backend_args',
                                 None))['categories']
        name_of = {cat['id']: cat['name'] for cat in categories}
        names = [name_of[cat_id] for cat_id in cat_ids]
        if names != classes:
            missing = [c for c in classes if c not in names]
            problem = f'lacks the classes {missing}' if missing else (
                f'orders them {names}, so its labels would not be the '
                'classes')
            raise UserError(
                f'{ann_file}: field "categories" {problem} of '
                f'{type(self.dataset).__name__} (classes {classes})')

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The source image's info in the layout of a video's:
        ``images`` (its info) and ``video_length`` (1)."""
        return dict(
            images=[self.dataset.get_data_info(idx)], video_length=1)

    @force_full_init
    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        for _ in range(self.max_refetch + 1):
            sample = self.pipeline(self.dataset[idx])
            if sample is not None:
                return sample
            idx = np.random.randint(0, len(self))
        raise RuntimeError(
            f'ImagesAsPseudoVideos: the pipeline returned None for '
            f'{self.max_refetch + 1} images; check the frame transform')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'dataset={type(self.dataset).__name__}, '
                f'{len(self) if self._fully_initialized else "?"} images)')
