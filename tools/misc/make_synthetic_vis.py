"""Generate the synthetic video instance segmentation dataset.

Example::

    python tools/misc/make_synthetic_vis.py --out data/synthetic_vis

See ``mmvis_clip/datasets/synthetic/generator.py`` for the output layout.
"""
from mmvis_clip.datasets.synthetic.generator import main

if __name__ == '__main__':
    main()
