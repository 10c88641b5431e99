"""The categories of the synthetic VIS dataset.

Each class has its own shape AND its own texture, so a detector can tell the
classes apart from either cue. Category ids are ``index + 1`` in
:data:`SYNTHETIC_VIS_CLASSES`; the generator, the raw json and
``SyntheticVISDataset`` all read the names from here.
"""

SYNTHETIC_VIS_CLASSES = ('disc', 'square', 'triangle', 'ring', 'cross', 'star')

# class name -> texture painted inside the shape (see ``textures.py``)
SYNTHETIC_VIS_CLASS_TEXTURES = dict(
    disc='solid',
    square='stripes',
    triangle='checker',
    ring='diagonal',
    cross='dots',
    star='gradient')


def synthetic_vis_categories() -> list:
    """The ``categories`` list of the raw and CocoVID json."""
    return [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(SYNTHETIC_VIS_CLASSES)
    ]
