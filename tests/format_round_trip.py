"""Shared by the tests of the converters from MOTS, COCO with track ids
and LabelMe: the writers (``tools/misc/export_ytvis.py``), the round-trip
comparison and the one-line error check."""
import importlib.util
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
from PIL import Image

from mmvis_clip.datasets.converters.vis2cocovid import convert_vis_to_cocovid
from mmvis_clip.evaluation.functional import evaluate_vis

_spec = importlib.util.spec_from_file_location(
    'export_ytvis',
    osp.join(osp.dirname(__file__), '..', 'tools', 'misc', 'export_ytvis.py'))
export_ytvis = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(export_ytvis)
decode = export_ytvis.decode


def load(path):
    with open(path) as f:
        return json.load(f)


def synthetic_split(make_tiny_synthetic):
    """(raw YouTube-VIS json path, its JPEGImages folder) of a tiny
    synthetic train split (2 videos x 4 frames, 64x96)."""
    root = make_tiny_synthetic(2, 4, 5)
    return (osp.join(root, 'annotations', 'train.json'),
            osp.join(root, 'train', 'JPEGImages'))


def assert_round_trip(got: dict, raw: dict, order=None, mask_of=None):
    """Assert that the converted json ``got`` holds ``raw``'s videos,
    frame names, categories, instances and masks.

    Args:
        got (dict): The converter's output.
        raw (dict): The original YouTube-VIS json.
        order (callable, optional): ``order(k, ann)`` -> sort key of the
            instances of a video (the converter's order); defaults to the
            original order.
        mask_of (callable, optional): Maps an original mask (H, W) to the
            mask the format can hold; defaults to the mask itself.
    """
    assert got['categories'] == raw['categories']
    assert got['videos'] == raw['videos']  # ids, frame names, sizes
    expected = []
    for video in raw['videos']:
        anns = [a for a in raw['annotations'] if a['video_id'] == video['id']]
        instances = list(enumerate(anns, 1))
        if order is not None:
            instances.sort(key=lambda item: order(*item))
        expected += [ann for _, ann in instances]
    assert len(got['annotations']) == len(expected) > 0
    for ann_id, (out, want) in enumerate(
            zip(got['annotations'], expected), 1):
        assert out['id'] == ann_id
        assert (out['video_id'], out['category_id'],
                out['iscrowd']) == (want['video_id'], want['category_id'], 0)
        assert (out['height'], out['width']) == (want['height'],
                                                 want['width'])
        # the same instance in every frame: identity kept across frames
        assert len(out['segmentations']) == len(want['segmentations'])
        for segm, want_segm in zip(out['segmentations'],
                                   want['segmentations']):
            assert (segm is None) == (want_segm is None)
            if segm is not None:
                want_mask = decode(want_segm)
                if mask_of is not None:
                    want_mask = mask_of(want_mask)
                np.testing.assert_array_equal(decode(segm), want_mask)
        if mask_of is None:
            assert out['bboxes'] == want['bboxes']
            assert out['areas'] == want['areas']
    # and the rest of the package reads it, source_id and all
    assert all('source_id' in ann for ann in got['annotations'])
    cocovid = convert_vis_to_cocovid(got, show_progress=False)
    assert len(cocovid['images']) == sum(v['length'] for v in got['videos'])
    assert_evaluates_to_itself(got)


def assert_evaluates_to_itself(ytvis: dict) -> None:
    """The evaluation reads ``ytvis`` as ground truth: its annotations
    scored as results give AP 1."""
    results = [
        dict(
            video_id=ann['video_id'],
            category_id=ann['category_id'],
            score=1.0,
            segmentations=ann['segmentations'])
        for ann in ytvis['annotations']
    ]
    assert evaluate_vis(ytvis, results)['AP'] == pytest.approx(1.0)


def write_frame(path: str, height: int, width: int) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(path)


def write_json(path: str, content) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(content, f)
    return path


def assert_one_line_error(main, argv, *patterns) -> str:
    """Run ``main(argv)``; assert it exits with one ``error:`` line that
    matches every regex of ``patterns``. Returns the line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    text = str(info.value)
    assert text.startswith('error: '), text
    assert len(text.splitlines()) == 1, text
    for pattern in patterns:
        assert re.search(pattern, text), (pattern, text)
    return text
