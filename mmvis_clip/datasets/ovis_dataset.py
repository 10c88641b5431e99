"""The OVIS (Occluded Video Instance Segmentation) dataset."""
from mmdet.registry import DATASETS

from .vis_video_dataset import VISVideoDataset


@DATASETS.register_module()
class OVISDataset(VISVideoDataset):
    """OVIS dataset for video instance segmentation.

    Reads the CocoVID json made by ``tools/dataset_converters/vis2cocovid.py
    --version ovis``. The 25 classes are listed in category-id order (id
    ``i + 1`` is ``classes[i]``) with the spelling of the official json,
    which writes ``'Vehical'`` for vehicle; keep it, the classes are looked
    up by name.
    """

    METAINFO = dict(
        classes=('Person', 'Bird', 'Cat', 'Dog', 'Horse', 'Sheep', 'Cow',
                 'Elephant', 'Bear', 'Zebra', 'Giraffe', 'Poultry',
                 'Giant_panda', 'Lizard', 'Parrot', 'Monkey', 'Rabbit',
                 'Tiger', 'Fish', 'Turtle', 'Bicycle', 'Motorcycle',
                 'Airplane', 'Boat', 'Vehical'))
