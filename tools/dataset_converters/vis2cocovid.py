"""Convert raw YouTube-VIS 2019/2021 or OVIS json to CocoVID json.

Examples::

    # one split
    python tools/dataset_converters/vis2cocovid.py \
        -i data/ovis/annotations_train.json \
        -o data/ovis/annotations/ovis_train.json
    # every split found in the official layout, mmdet's output names
    python tools/dataset_converters/vis2cocovid.py \
        --data-root data/youtube_vis_2019 --version 2019

See ``mmvis_clip/datasets/converters/vis2cocovid.py`` for the formats.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.datasets.converters.vis2cocovid import main

if __name__ == '__main__':
    main()
