"""Build a YouTube-VIS json from a per-frame COCO json with track ids.

Example::

    python tools/dataset_converters/cocotrack2ytvis.py \
        data/my_videos/annotations/instances_default.json \
        data/my_videos/images data/my_videos/annotations/train.json \
        --class-map data/my_videos/classes.json

Layout, formats and class map: ``--help`` and
``mmvis_clip/datasets/converters/cocotrack2ytvis.py``.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.datasets.converters.cocotrack2ytvis import main

if __name__ == '__main__':
    main()
