"""Base class of the VIS datasets of this package."""
from typing import List

import mmengine
from mmdet.datasets import BaseVideoDataset


class VISVideoDataset(BaseVideoDataset):
    """mmdet's ``BaseVideoDataset`` that refuses an annotation file lacking
    some of the ``metainfo['classes']``.

    ``BaseVideoDataset`` looks the category ids up by name and silently
    ignores names that the CocoVID json does not have (their instances
    would vanish); here that is an error naming the file and the missing
    classes. As in mmdet, label ``i`` is the ``i``-th of the selected
    categories in the order of the json, which for the official json and
    the class tuples of this package is ``classes[i]``.
    """

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        classes = tuple(self.metainfo['classes'])
        if len(self.cat_ids) != len(classes):
            categories = mmengine.load(
                self.ann_file, backend_args=self.backend_args)['categories']
            names = {c['name'] for c in categories}
            missing = [c for c in classes if c not in names]
            problem = f'lacks the classes {missing}' if missing else \
                'repeats a class name'
            raise ValueError(
                f'{self.ann_file}: field "categories" {problem} of '
                f'{type(self).__name__} (classes {list(classes)}); its '
                f'names are {sorted(names)}')
        return data_list
