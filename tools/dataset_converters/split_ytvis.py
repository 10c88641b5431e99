"""Split a labelled YouTube-VIS json into train / held-out by video, or keep
a subset of its videos.

Example::

    python tools/dataset_converters/split_ytvis.py \
        data/synthetic_vis/annotations/train.json --held-out-fraction 0.2 \
        --train-out data/synthetic_vis/annotations/train_split.json \
        --held-out-out data/synthetic_vis/annotations/held_out.json

Rule and options: ``--help`` and
``mmvis_clip/datasets/converters/split_ytvis.py``.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.datasets.converters.split_ytvis import main

if __name__ == '__main__':
    main()
