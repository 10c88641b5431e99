"""Build a YouTube-VIS json from per-frame LabelMe json files.

Example::

    python tools/dataset_converters/labelme2ytvis.py \
        data/my_videos/frames data/my_videos/annotations/train.json \
        --class-map data/my_videos/classes.json

Layout, formats and class map: ``--help`` and
``mmvis_clip/datasets/converters/labelme2ytvis.py``.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.datasets.converters.labelme2ytvis import main

if __name__ == '__main__':
    main()
