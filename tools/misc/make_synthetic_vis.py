"""Generate the synthetic video instance segmentation dataset.

Example::

    python tools/misc/make_synthetic_vis.py --out data/synthetic_vis

See ``mmvis_clip/datasets/synthetic/generator.py`` for the output layout.
"""
#: A tool that runs no model: ``import mmvis_clip`` registers nothing and
#: imports neither torch nor mmdet (see mmvis_clip/__init__.py).
__runs_no_model__ = True

from mmvis_clip.datasets.synthetic.generator import main

if __name__ == '__main__':
    main()
