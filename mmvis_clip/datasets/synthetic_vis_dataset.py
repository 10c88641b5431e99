"""The synthetic VIS dataset made by ``tools/misc/make_synthetic_vis.py``."""
from mmdet.registry import DATASETS

from .synthetic.classes import SYNTHETIC_VIS_CLASSES
from .vis_video_dataset import VISVideoDataset


@DATASETS.register_module()
class SyntheticVISDataset(VISVideoDataset):
    """Synthetic moving-shapes dataset for video instance segmentation.

    Reads ``annotations/{train,valid}_cocovid.json`` of the generated
    folder. Classes (category id ``i + 1`` is ``classes[i]``) come from
    :data:`SYNTHETIC_VIS_CLASSES`.
    """

    METAINFO = dict(classes=SYNTHETIC_VIS_CLASSES)
