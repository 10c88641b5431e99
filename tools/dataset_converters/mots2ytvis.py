"""Build a YouTube-VIS json from MOTS annotations (instances_txt or
instances PNGs).

Example::

    python tools/dataset_converters/mots2ytvis.py \
        data/kitti_mots/training/image_02 data/kitti_mots/instances_txt \
        data/kitti_mots/annotations/train.json \
        --class-map data/kitti_mots/classes.json

Layout, formats and class map: ``--help`` and
``mmvis_clip/datasets/converters/mots2ytvis.py``.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.datasets.converters.mots2ytvis import main

if __name__ == '__main__':
    main()
