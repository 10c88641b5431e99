"""tools/analysis/frame_diagnosis.py on hand-built ground truth/results."""
import importlib.util
import os.path as osp

import numpy as np
from pycocotools import mask as mask_utils

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    'frame_diagnosis', osp.join(REPO, 'tools', 'analysis',
                                'frame_diagnosis.py'))
frame_diagnosis = importlib.util.module_from_spec(spec)
spec.loader.exec_module(frame_diagnosis)


def rle(x1, y1, x2, y2, h=20, w=30):
    m = np.zeros((h, w), dtype=np.uint8, order='F')
    m[y1:y2, x1:x2] = 1
    r = mask_utils.encode(m)
    r['counts'] = r['counts'].decode()
    return r


def test_recall_category_and_track_changes_by_hand():
    a, b = rle(0, 0, 10, 10), rle(15, 5, 25, 15)
    gt = dict(
        videos=[dict(id=1, height=20, width=30, length=4)],
        annotations=[
            dict(video_id=1, category_id=1, segmentations=[a, a, a, a]),
            dict(video_id=1, category_id=2, segmentations=[b, b, None, b]),
        ])
    results = [
        # object a in frames 0, 1 (right class), then a new id in 2, 3
        dict(video_id=1, category_id=1, score=0.9,
             segmentations=[a, a, None, None]),
        dict(video_id=1, category_id=2, score=0.8,
             segmentations=[None, None, a, a]),
        # object b found in frame 0 only (frame 1: IoU 0.3 < 0.5)
        dict(video_id=1, category_id=2, score=0.7,
             segmentations=[b, rle(15, 5, 18, 15), None, None]),
        # below the score threshold: ignored
        dict(video_id=1, category_id=2, score=0.05,
             segmentations=[None, b, None, b]),
    ]
    stats = frame_diagnosis.diagnose(gt, results)
    assert stats['object_frames'] == 7
    # hits: a in 4 frames, b in frame 0
    assert stats['frame_recall'] == 5 / 7
    # a: right class twice, wrong twice; b: right
    assert stats['category_accuracy'] == 3 / 5
    # a switches tracks once (frame 1 -> 2); b has one matched frame
    assert stats['track_changes'] == 1


def test_track_kinds_by_hand():
    """Object a: 10x10 in both frames; tracks by decreasing score."""
    a, b = rle(0, 0, 10, 10), rle(15, 5, 25, 15)
    gt = dict(
        videos=[dict(id=1, height=20, width=30, length=2)],
        annotations=[dict(video_id=1, category_id=1, segmentations=[a, a])])
    results = [
        # a exactly (IoU 1): found, whatever its category
        dict(video_id=1, category_id=2, score=0.9, segmentations=[a, a]),
        # a in frame 0 only: 100 / 200 = 0.5 >= 0.5, a is taken: duplicate
        dict(video_id=1, category_id=1, score=0.8, segmentations=[a, None]),
        # a quarter of a in both frames: 50 / 200 = 0.25: partial
        dict(video_id=1, category_id=1, score=0.7,
             segmentations=[rle(0, 0, 5, 5), rle(0, 0, 5, 5)]),
        # nowhere near a: background
        dict(video_id=1, category_id=1, score=0.6, segmentations=[b, b]),
        # below the score threshold: not counted
        dict(video_id=1, category_id=1, score=0.05, segmentations=[a, a]),
    ]
    assert frame_diagnosis.track_kinds(gt, results) == dict(
        found=1, duplicate=1, partial=1, background=1)
