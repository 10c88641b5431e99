"""The classes of a VIS annotation json and of a dataset config, and how
they disagree (mmdet's ``BaseVideoDataset`` numbers the json's categories
selected by ``metainfo['classes']`` in the json's order).
"""
import json
import os.path as osp
import re
from typing import Optional, Sequence, Tuple

from ..structures.vis_format import VISFormatError, load_json

#: The tool that writes a config for a dataset of one's own.
MAKE_DATASET_CONFIG = 'tools/misc/make_dataset_config.py'

#: Above this size, :func:`read_json_categories` parses only the
#: ``categories`` list instead of the whole file.
FAST_CATEGORIES_BYTES = 64 << 20

_CATEGORIES_KEY = re.compile(r'"categories"\s*:\s*\[')


def _is_category_list(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(c, dict) and 'id' in c and 'name' in c for c in value)


def read_json_categories(path: str,
                         fast_above: int = FAST_CATEGORIES_BYTES) -> list:
    """The ``categories`` list of a (raw YouTube-VIS or CocoVID) json
    (above ``fast_above`` bytes, only that list is decoded).

    Args:
        path (str): The json file.
        fast_above (int): Size in bytes above which only the list is
            decoded. Defaults to :data:`FAST_CATEGORIES_BYTES`.

    Returns:
        list: The categories, as the file has them.

    Raises:
        VISFormatError: The file is not JSON, not an object, or has no
            ``categories`` list of dicts with ``id`` and ``name``.
        OSError: It is missing or unreadable.
    """
    if osp.getsize(path) > fast_above:
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        decoder = json.JSONDecoder()
        for match in _CATEGORIES_KEY.finditer(text):
            try:
                value, _ = decoder.raw_decode(text, match.end() - 1)
            except ValueError:
                continue
            if _is_category_list(value):
                return value
    data = load_json(path)
    if not isinstance(data, dict):
        raise VISFormatError(f'{path}: a JSON object with "videos", '
                             f'"categories", ... is needed, not a '
                             f'{type(data).__name__}')
    categories = data.get('categories', None)
    if not _is_category_list(categories):
        raise VISFormatError(f'{path}: field "categories" must be a list of '
                             '{"id", "name"} objects')
    return categories


def categories_to_classes(categories: list, path: str) -> Tuple[str, ...]:
    """The class names of a json's categories, in id order.

    Args:
        categories (list): The json's ``categories``.
        path (str): The json, for messages.

    Returns:
        tuple[str]: ``classes[i]`` is the name of the ``i``-th smallest
        category id, which is the dataset's label ``i``.

    Raises:
        VISFormatError: No category, a bad or repeated id or name, or
            categories not in id order.
    """
    if not _is_category_list(categories) or not categories:
        raise VISFormatError(f'{path}: field "categories" is missing or '
                             'empty; a dataset needs at least one class')
    for i, cat in enumerate(categories):
        if isinstance(cat['id'], bool) or not isinstance(cat['id'], int):
            raise VISFormatError(f'{path}: categories[{i}]: "id" must be an '
                                 f'integer, got {cat["id"]!r}')
        if not isinstance(cat['name'], str) or not cat['name']:
            raise VISFormatError(f'{path}: categories[{i}] (id {cat["id"]}): '
                                 '"name" must be a non-empty string')
    for field in ('id', 'name'):
        values = [cat[field] for cat in categories]
        repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
        if repeated:
            raise VISFormatError(f'{path}: field "categories" repeats the '
                                 f'{field}s {repeated}')
    ids = [cat['id'] for cat in categories]
    if ids != sorted(ids):
        raise VISFormatError(
            f'{path}: field "categories" is not in id order (ids {ids}); '
            'a dataset numbers the classes in the listed order, so list '
            'them by id')
    return tuple(cat['name'] for cat in categories)


def class_mismatch(classes: Sequence[str],
                   names: Sequence[str]) -> Optional[str]:
    """What keeps a dataset with ``classes`` from labelling the categories
    ``names`` (in the json's order) as its classes.

    Args:
        classes (Sequence[str]): The dataset's ``metainfo['classes']``.
        names (Sequence[str]): The json's category names, in its order.

    Returns:
        str | None: E.g. ``"lacks the classes ['dog']"``; None when label
        ``i`` is ``classes[i]``.
    """
    classes = [str(c) for c in classes]
    missing = [c for c in classes if c not in names]
    if missing and len(missing) == len(classes):
        return 'has none of the classes'
    if missing:
        return f'lacks the classes {missing}'
    repeated = sorted(
        {n
         for n in names if n in classes and list(names).count(n) > 1})
    if repeated:
        return f'repeats the class names {repeated}'
    selected = [n for n in names if n in classes]
    if selected != classes:
        return (f'lists the classes in another order ({selected}), so its '
                'labels would not be the classes')
    return None


def raw_json_of(cocovid_path: str) -> Optional[str]:
    """The raw YouTube-VIS json a CocoVID json ``X_cocovid.json`` was
    converted from (``X.json`` beside it), if it exists."""
    suffix = '_cocovid.json'
    if not cocovid_path.endswith(suffix):
        return None
    raw = cocovid_path[:-len(suffix)] + '.json'
    return raw if osp.isfile(raw) else None


def make_dataset_config_command(config: str,
                                train_ann: str = 'TRAIN.json',
                                val_ann: str = 'VAL.json',
                                img_dir: str = 'FRAMES') -> str:
    """The command line that writes a config of ``config``'s method for
    a dataset of one's own (the raw train / val json and train frame
    folder, where known, else placeholders)."""
    return (f'python {MAKE_DATASET_CONFIG} {config} OUT.py --train-ann '
            f'{train_ann} --val-ann {val_ann} --img-dir {img_dir}')


__all__ = [
    'MAKE_DATASET_CONFIG', 'read_json_categories', 'categories_to_classes',
    'class_mismatch', 'raw_json_of', 'make_dataset_config_command'
]
