"""tools/analysis/dataset_motion.py: displacement / size of box centres
between consecutive annotated frames, against figures computed by hand."""
import importlib.util
import json
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pycocotools.mask as mask_utils
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join(REPO, 'tools', 'analysis', 'dataset_motion.py')
spec = importlib.util.spec_from_file_location('dataset_motion', SCRIPT)
dataset_motion = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dataset_motion)


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=list(rle['size']), counts=rle['counts'].decode())


def _write(path, annotations):
    # as the YouTube-VIS json has it: null for an absent frame
    data = dict(
        videos=[dict(id=1, width=40, height=30, length=4,
                     file_names=[f'v/{i}.jpg' for i in range(4)])],
        categories=[dict(id=1, name='a')],
        annotations=annotations)
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


def test_ratios_by_hand(tmp_path):
    boxes = [
        [0, 0, 4, 4],  # centre (2, 2), area 16
        [3, 4, 4, 4],  # centre (5, 6): moved 5, size 4 -> 1.25
        None,  # absent: no pair with it
        [10, 10, 2, 8],  # centre (11, 14), area 16
    ]
    second = [[0, 0, 2, 2], [1, 0, 4, 8], None, None]
    # centres (1, 1) -> (3, 4): moved sqrt(13); areas 4 and 32: size sqrt 18
    path = _write(tmp_path / 'a.json', [
        dict(id=1, video_id=1, category_id=1, bboxes=boxes),
        dict(id=2, video_id=1, category_id=1, bboxes=second)
    ])
    stats = dataset_motion.relative_motion(path)
    assert stats.num_tracks == 2
    np.testing.assert_allclose(
        sorted(stats.ratios), sorted([1.25, math.sqrt(13) / math.sqrt(18)]))


def test_boxes_from_segmentations_without_bboxes(tmp_path):
    first = np.zeros((30, 40), bool)
    first[2:6, 4:8] = True  # centre (6, 4), 4x4
    second = np.zeros((30, 40), bool)
    second[5:9, 8:12] = True  # centre (10, 7): moved 5 -> 1.25
    path = _write(tmp_path / 'b.json', [
        dict(id=7, video_id=1, category_id=1,
             segmentations=[_rle(first), _rle(second), None, None])
    ])
    np.testing.assert_allclose(
        dataset_motion.relative_motion(path).ratios, [1.25])


def test_table_and_a_bad_box_named_in_one_line(tmp_path, capsys):
    good = _write(tmp_path / 'good.json', [
        dict(id=1, video_id=1, category_id=1,
             bboxes=[[0, 0, 4, 4], [3, 4, 4, 4], None, None])
    ])
    out = tmp_path / 'table.md'
    assert dataset_motion.main([good, '--out', str(out)]) == 0
    row = out.read_text().splitlines()[2]
    assert row == f'| {good} | 1 | 1 | 1.250 | 1.250 | 1.250 |'
    bad = _write(tmp_path / 'bad.json', [
        dict(id=9, video_id=1, category_id=1,
             bboxes=[[0, 0, 4], [3, 4, 4, 4], None, None])
    ])
    proc = subprocess.run([sys.executable, SCRIPT, bad],
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert 'annotation 0 (id 9), frame 0: a box must be 4 numbers' \
        in proc.stderr


def test_out_over_an_input_is_refused(tmp_path):
    good = _write(tmp_path / 'good.json', [
        dict(id=1, video_id=1, category_id=1,
             bboxes=[[0, 0, 4, 4], [3, 4, 4, 4], None, None])
    ])
    before = open(good).read()
    with pytest.raises(SystemExit):
        dataset_motion.main([good, '--out', good])
    assert open(good).read() == before
