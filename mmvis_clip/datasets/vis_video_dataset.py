"""Base class of the VIS datasets of this package, and the dataset of a
user's own VIS data."""
from typing import List

import mmengine
from mmdet.datasets import BaseVideoDataset
from mmdet.registry import DATASETS

from ..utils.user_errors import UserError
from .dataset_classes import (MAKE_DATASET_CONFIG, class_mismatch,
                              read_json_categories)


@DATASETS.register_module()
class VISVideoDataset(BaseVideoDataset):
    """mmdet's ``BaseVideoDataset`` that refuses an annotation file whose
    categories are not ``metainfo['classes']``, all, once, in that order
    (mmdet silently drops the missing ones). Used by its name, it is the
    dataset of a user's own data (``metainfo=dict(classes=(...))``).
    """

    def load_data_list(self) -> List[dict]:
        classes = self.metainfo.get('classes', None)
        if not classes:
            raise UserError(
                f'{type(self).__name__} of {self.ann_file}: no classes; '
                'give them as metainfo=dict(classes=(...)) (or write the '
                f'config with {MAKE_DATASET_CONFIG})')
        data_list = super().load_data_list()  # deletes self.coco
        if '://' in self.ann_file:
            categories = mmengine.load(
                self.ann_file, backend_args=self.backend_args)['categories']
        else:
            categories = read_json_categories(self.ann_file)
        names = [str(cat['name']) for cat in categories]
        problem = class_mismatch(classes, names)
        if problem is not None:
            raise UserError(
                f'{self.ann_file}: field "categories" {problem} of '
                f'{type(self).__name__} (classes {list(classes)}); its '
                f'names are {names}. For a dataset of your own, write its '
                f'config with {MAKE_DATASET_CONFIG}')
        return data_list
