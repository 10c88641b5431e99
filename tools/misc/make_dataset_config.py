"""Write the config of a method for a dataset of your own.

Example (docs/data.md, "Bring your own data", has the whole path)::

    python tools/misc/make_dataset_config.py \
        configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py \
        configs/mine/stc_r18_fpn_1xb4-8e_mine.py \
        --train-ann data/mine/train.json --val-ann data/mine/held_out.json \
        --img-dir data/mine/frames/JPEGImages

The classes and every ``num_classes`` come from the train json, the
datasets and evaluators point at your files, and the CocoVID json of each
split is converted beside it when missing. The config is ``_base_`` plus
what differs; an existing one is kept unless ``--force``. Rules and
options: ``--help`` and ``mmvis_clip/engine/dataset_config.py``.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.engine.dataset_config import main

if __name__ == '__main__':
    main()
