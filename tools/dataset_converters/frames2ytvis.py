"""Build a YouTube-VIS json from folders of frames and instance-id masks.

Example::

    python tools/dataset_converters/frames2ytvis.py \
        data/my_videos/train data/my_videos/annotations/train.json \
        --class-map data/my_videos/classes.json

Layout, mask and class map formats: ``--help`` and
``mmvis_clip/datasets/converters/frames2ytvis.py``.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.datasets.converters.frames2ytvis import main

if __name__ == '__main__':
    main()
