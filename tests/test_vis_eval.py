"""The YouTube-VIS evaluator against mmdet's vendored official code and
against hand-computed cases."""
import copy
import functools
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmvis_clip.evaluation.functional import (OVIS_STAT_NAMES, VIS_STAT_NAMES,
                                              VISEval, evaluate_vis,
                                              sequence_mask_iou)
from mmvis_clip.structures import (VISFormatError, occlusion_levels,
                                   occlusion_score)

# precision is tp / (tp + fp + eps) as in the official code: 1 - 1e-16
approx = functools.partial(pytest.approx, abs=1e-12)

SIZE_RANGES = {'small': (15, 110), 'medium': (130, 250), 'large': (260, 420)}


def _box_mask(height, width, x0, y0, w, h, ellipse=False):
    """Binary (height, width) mask of a box or its inscribed ellipse."""
    mask = np.zeros((height, width), np.uint8)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width, x0 + w), min(height, y0 + h)
    if ellipse:
        yy, xx = np.ogrid[y0:y1, x0:x1]
        cx, cy = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2
        rx, ry = max((x1 - x0) / 2, 1), max((y1 - y0) / 2, 1)
        mask[y0:y1, x0:x1] = ((xx - cx) / rx)**2 + ((yy - cy) / ry)**2 <= 1
    else:
        mask[y0:y1, x0:x1] = 1
    return mask


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    rle['counts'] = rle['counts'].decode()
    return rle


def _uncompressed_rle(mask):
    """Uncompressed RLE (counts list, column-major, zeros first)."""
    flat = np.concatenate([[0], mask.flatten(order='F'), [2]])
    changes = np.flatnonzero(np.diff(flat)) + 1
    # a mask starting with 1 gets a leading empty run of zeros
    counts = np.diff(np.concatenate([[1], changes])).tolist()
    return {'size': list(mask.shape), 'counts': counts}


def random_vis_data(seed, many_dets=False):
    """Random ground truth and results over 4 videos.

    Categories 1, 2, 3 have ground truth; 5 has predictions only. Ground
    truth of all three sizes, absent frames, crowds, polygons, compressed
    and uncompressed RLEs, ``areas`` that sometimes sit on an area-range
    bound; predictions of mixed quality with tied scores, some on the
    wrong category, some absent from every frame; with ``many_dets`` one
    video and category gets over 100 predictions.
    """
    rng = np.random.default_rng(seed)
    shapes = [(600, 640), (600, 600), (480, 720), (640, 600)]
    videos, annotations, results = [], [], []
    for v, (height, width) in enumerate(shapes):
        length = int(rng.integers(3, 6))
        video_id = 10 + 3 * v
        videos.append(
            dict(
                id=video_id,
                height=height,
                width=width,
                length=length,
                file_names=[f'{v}/{f}.jpg' for f in range(length)]))
        for cat in (1, 2, 3):
            for _ in range(int(rng.integers(0, 4))):
                low, high = SIZE_RANGES[rng.choice(list(SIZE_RANGES))]
                w, h = (int(rng.integers(low, high)) for _ in range(2))
                x0 = int(rng.integers(0, width - w))
                y0 = int(rng.integers(0, height - h))
                ellipse = bool(rng.random() < 0.4)
                segs, areas, present = [], [], []
                for _ in range(length):
                    if rng.random() < 0.25:
                        segs.append(None)
                        areas.append(None)
                        present.append(False)
                        continue
                    fx, fy = x0 + int(rng.integers(-8, 9)), y0 + int(
                        rng.integers(-8, 9))
                    mask = _box_mask(height, width, fx, fy, w, h, ellipse)
                    kind = rng.random()
                    if kind < 0.15 and not ellipse:
                        fx, fy = max(fx, 0), max(fy, 0)
                        x1, y1 = min(fx + w, width), min(fy + h, height)
                        segs.append([[fx, fy, x1, fy, x1, y1, fx, y1]])
                    elif kind < 0.3:
                        segs.append(_uncompressed_rle(mask))
                    else:
                        segs.append(_rle(mask))
                    areas.append(int(mask.sum()))
                    present.append(True)
                if rng.random() < 0.15:
                    bound = float(rng.choice([128**2, 256**2]))
                    areas = [bound if a else a for a in areas]
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        video_id=video_id,
                        category_id=cat,
                        segmentations=segs,
                        areas=areas,
                        bboxes=[None] * length,
                        iscrowd=int(rng.random() < 0.1)))
                for _ in range(int(rng.integers(0, 3))):
                    spread = float(rng.choice([0.03, 0.1, 0.25]))
                    pred = []
                    for f in range(length):
                        if rng.random() < (0.05 if present[f] else 0.7):
                            pred.append(None)
                            continue
                        sw, sh = (
                            max(2,
                                int(d * rng.uniform(1 - spread, 1 + spread)))
                            for d in (w, h))
                        jx, jy = (
                            int(round(d * rng.uniform(-spread, spread)))
                            for d in (w, h))
                        pred.append(
                            _rle(
                                _box_mask(height, width, x0 + jx, y0 + jy, sw,
                                          sh, ellipse)))
                    results.append(
                        dict(
                            video_id=video_id,
                            category_id=cat if rng.random() < 0.85 else 5,
                            score=float(np.round(rng.random(), 1)),
                            segmentations=pred))
        crowded = many_dets and v == 0
        for _ in range(107 if crowded else int(rng.integers(1, 5))):
            pred = []
            for _ in range(length):
                if rng.random() < 0.3:
                    pred.append(None)
                    continue
                low, high = SIZE_RANGES[rng.choice(list(SIZE_RANGES))]
                w, h = (int(rng.integers(low, high)) for _ in range(2))
                pred.append(
                    _rle(
                        _box_mask(height, width,
                                  int(rng.integers(0, width - w)),
                                  int(rng.integers(0, height - h)), w, h)))
            results.append(
                dict(
                    video_id=video_id,
                    category_id=2 if crowded else int(
                        rng.choice([1, 2, 3, 5])),
                    score=float(np.round(rng.random(), 1)),
                    segmentations=pred))
    results.append(
        dict(
            video_id=videos[0]['id'],
            category_id=1,
            score=0.5,
            segmentations=[None] * videos[0]['length']))
    categories = [dict(id=i, name=f'class{i}') for i in (1, 2, 3, 5)]
    return dict(
        videos=videos, annotations=annotations, categories=categories), results


def official_eval(gt, results):
    """mmdet's vendored YTVIS/YTVISeval after evaluate() (copies inputs)."""
    from mmdet.evaluation.functional import YTVIS, YTVISeval
    ytvis = YTVIS(copy.deepcopy(gt))
    evaluator = YTVISeval(ytvis, ytvis.loadRes(copy.deepcopy(results)), 'segm')
    evaluator.evaluate()
    return evaluator


def run_ours(gt, results):
    evaluator = VISEval(gt, results)
    evaluator.evaluate()
    evaluator.accumulate()
    return evaluator, evaluator.summarize()


@pytest.mark.parametrize('seed', range(5))
def test_same_numbers_as_official(seed, monkeypatch):
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt, results = random_vis_data(seed, many_dets=seed == 0)
    official = official_eval(gt, results)
    official.accumulate()
    official.summarize()
    inputs = copy.deepcopy((gt, results))
    ours, stats = run_ours(gt, results)

    assert (gt, results) == inputs  # not modified
    assert list(stats) == list(VIS_STAT_NAMES)
    np.testing.assert_allclose([stats[name] for name in VIS_STAT_NAMES],
                               official.stats,
                               rtol=0,
                               atol=1e-9)
    # the whole precision / recall tables, per threshold, category, area
    np.testing.assert_allclose(
        ours.precision[:, :, :, :4], official.eval['precision'], atol=1e-9)
    np.testing.assert_allclose(
        ours.recall[:, :, :4], official.eval['recall'], atol=1e-9)
    assert 0 < stats['AP'] < stats['AP50'] < 1


def test_random_data_cover_the_protocol_cases():
    """The random comparison sees every case the protocol treats apart."""
    kinds, sizes, crowds, bounds = set(), set(), 0, 0
    for seed in range(5):
        gt, results = random_vis_data(seed, many_dets=seed == 0)
        for ann in gt['annotations']:
            crowds += ann['iscrowd']
            means = [a for a in ann['areas'] if a]
            mean = np.mean(means) if means else 0
            bounds += mean in (128**2, 256**2)
            sizes.add('small' if mean < 128**2 else 'medium' if mean <=
                      256**2 else 'large')
            for seg in ann['segmentations']:
                kinds.add('none' if seg is None else 'polygon' if isinstance(
                    seg, list) else type(seg['counts']).__name__)
        per_group = {}
        for res in results:
            key = res['video_id'], res['category_id']
            per_group[key] = per_group.get(key, 0) + 1
        if seed == 0:
            assert max(per_group.values()) > 100
        assert any(r['category_id'] == 5 for r in results)
        scores = [r['score'] for r in results]
        assert len(set(scores)) < len(scores)  # tied scores
    assert kinds == {'none', 'polygon', 'str', 'list'}
    assert sizes == {'small', 'medium', 'large'}
    assert crowds > 0 and bounds > 0


def test_mmdet_ytviseval_fails_on_numpy2_where_ours_works(monkeypatch):
    gt, results = random_vis_data(7)
    monkeypatch.delattr(np, 'float', raising=False)
    official = official_eval(gt, results)
    with pytest.raises(AttributeError):
        official.accumulate()
    _, stats = run_ours(gt, results)

    monkeypatch.setattr(np, 'float', float, raising=False)
    official = official_eval(gt, results)
    official.accumulate()
    official.summarize()
    np.testing.assert_allclose([stats[name] for name in VIS_STAT_NAMES],
                               official.stats,
                               rtol=0,
                               atol=1e-9)


def _video(video_id, height, width, length):
    return dict(
        id=video_id,
        height=height,
        width=width,
        length=length,
        file_names=[f'{video_id}/{i}.jpg' for i in range(length)])


def _track(masks):
    return [None if m is None else _rle(m) for m in masks]


def test_perfect_predictions_score_one():
    boxes = {  # (video, category): (x0, y0, w, h) -> small, large, medium
        (1, 1): (10, 10, 50, 40),
        (1, 2): (100, 50, 400, 300),
        (2, 1): (200, 200, 150, 160),
    }
    videos = [_video(1, 600, 600, 3), _video(2, 600, 600, 2)]
    lengths = {1: 3, 2: 2}
    annotations, results = [], []
    for i, ((video_id, cat), box) in enumerate(boxes.items(), 1):
        masks = [_box_mask(600, 600, *box) for _ in range(lengths[video_id])]
        masks[-1] = None
        track = _track(masks)
        annotations.append(
            dict(
                id=i,
                video_id=video_id,
                category_id=cat,
                iscrowd=0,
                segmentations=track,
                areas=[None if s is None else box[2] * box[3] for s in track]))
        results.append(
            dict(
                video_id=video_id,
                category_id=cat,
                score=0.9,
                segmentations=track))
    gt = dict(
        videos=videos,
        annotations=annotations,
        categories=[dict(id=1, name='a'),
                    dict(id=2, name='b')])
    stats = evaluate_vis(gt, results)
    # precision is tp / (tp + fp + eps), as in the official code
    assert stats == pytest.approx({name: 1.0
                                   for name in VIS_STAT_NAMES},
                                  abs=1e-12)


def _partial_overlap_case():
    """One 10x10 video of 4 frames; sequence IoU 35 / 55 by hand.

    frame 0: gt = dt = rows 0-2           -> I 30, U 30
    frame 1: both absent                  -> nothing
    frame 2: gt row 5 (10 px), dt absent  -> U 10
    frame 3: gt row 7, dt rows 7-8 cols 5-9 (overlap 5 px) -> I 5, U 15
    """

    def mask(rows, cols=slice(0, 10)):
        m = np.zeros((10, 10), np.uint8)
        m[rows, cols] = 1
        return m

    gt_masks = [mask(slice(0, 3)), None, mask(5), mask(7)]
    dt_masks = [mask(slice(0, 3)), None, None, mask(slice(7, 9), slice(5, 10))]
    gt = dict(
        videos=[_video(3, 10, 10, 4)],
        annotations=[
            dict(
                id=1,
                video_id=3,
                category_id=1,
                iscrowd=0,
                segmentations=_track(gt_masks),
                areas=[30, None, 10, 10])
        ],
        categories=[dict(id=1, name='a')])
    results = [
        dict(
            video_id=3,
            category_id=1,
            score=0.7,
            segmentations=_track(dt_masks))
    ]
    return gt, results


def test_known_sequence_iou_gives_known_ap():
    gt, results = _partial_overlap_case()
    iou = sequence_mask_iou([results[0]['segmentations']],
                            [gt['annotations'][0]['segmentations']])
    assert iou.shape == (1, 1)
    assert iou[0, 0] == approx(35 / 55)

    stats = evaluate_vis(gt, results)
    # IoU 0.636 passes the thresholds 0.50, 0.55, 0.60 of ten
    assert stats['AP50'] == approx(1)
    assert stats['AP75'] == 0.0
    assert stats['AP'] == approx(0.3)
    assert stats['AR1'] == approx(0.3)
    assert stats['APs'] == approx(0.3)  # mean area 16.7
    assert stats['APm'] == -1 and stats['APl'] == -1
    assert stats['ARm'] == -1 and stats['ARl'] == -1


def test_crowd_ground_truth_absorbs_predictions():
    """Predictions on a crowd region are neither true nor false positives.
    """
    person = _box_mask(100, 100, 0, 0, 20, 20)
    crowd = _box_mask(100, 100, 50, 50, 40, 40)
    gt = dict(
        videos=[_video(1, 100, 100, 1)],
        annotations=[
            dict(
                id=1,
                video_id=1,
                category_id=1,
                iscrowd=0,
                segmentations=_track([person]),
                areas=[400]),
            dict(
                id=2,
                video_id=1,
                category_id=1,
                iscrowd=1,
                segmentations=_track([crowd]),
                areas=[1600]),
        ],
        categories=[dict(id=1, name='person')])
    results = [
        dict(video_id=1, category_id=1, score=s, segmentations=_track([m]))
        for s, m in ((0.95, crowd), (0.9, person), (0.8, crowd))
    ]
    assert evaluate_vis(gt, results)['AP'] == approx(1)
    gt['annotations'][1]['iscrowd'] = 0
    # now a regular instance: the duplicate at 0.8 is a false positive
    # after full recall, so AP stays 1, but AR1 halves (one per video)
    stats = evaluate_vis(gt, results)
    assert stats['AP'] == approx(1)
    assert stats['AR1'] == approx(0.5)


def _rows_mask(rows, extra=(), shape=(10, 10)):
    """Mask of full rows plus single (row, col) pixels."""
    mask = np.zeros(shape, np.uint8)
    mask[rows] = 1
    for row, col in extra:
        mask[row, col] = 1
    return mask


def _stats_and_official(gt, results, monkeypatch):
    monkeypatch.setattr(np, 'float', float, raising=False)
    official = official_eval(gt, results)
    official.accumulate()
    official.summarize()
    stats = evaluate_vis(gt, results)
    np.testing.assert_allclose([stats[name] for name in VIS_STAT_NAMES],
                               official.stats,
                               rtol=0,
                               atol=1e-9)
    return stats


def test_iou_ties_go_to_the_later_ground_truth(monkeypatch):
    """dt1 has IoU 83/100 with both A and B; official takes the later, B,
    leaving A to dt2 (IoU 70/83 with A, 53/100 with B)."""
    gt_a = _rows_mask(slice(0, 8), [(8, 0), (8, 1), (8, 2)])
    gt_b = _rows_mask(slice(2, 10), [(1, 0), (1, 1), (1, 2)])
    gt = dict(
        videos=[_video(1, 10, 10, 1)],
        annotations=[
            dict(
                id=i,
                video_id=1,
                category_id=1,
                iscrowd=0,
                segmentations=_track([m]),
                areas=[83]) for i, m in ((1, gt_a), (2, gt_b))
        ],
        categories=[dict(id=1, name='a')])
    results = [
        dict(video_id=1, category_id=1, score=s, segmentations=_track([m]))
        for s, m in ((0.9, _rows_mask(slice(0, 10))),
                     (0.8, _rows_mask(slice(0, 7))))
    ]
    iou = sequence_mask_iou([r['segmentations'] for r in results],
                            [a['segmentations'] for a in gt['annotations']])
    np.testing.assert_allclose(iou, [[.83, .83], [70 / 83, .53]])
    stats = _stats_and_official(gt, results, monkeypatch)
    # both found at the 7 thresholds <= 0.80, none above
    assert stats['AP'] == approx(0.7)


def test_tied_scores_keep_input_order_then_video_order(monkeypatch):
    """40 predictions in a video: 19 misses scored 0.7, 20 scored 0.5 and a
    hit scored 0.5 listed after 10 of those, so the hit ranks 30th; across
    videos, ties rank by video id."""
    hit = _rows_mask(slice(0, 5))
    miss = _rows_mask(slice(6, 10))
    gt = dict(
        videos=[_video(1, 10, 10, 1),
                _video(2, 10, 10, 1)],
        annotations=[
            dict(
                id=1,
                video_id=1,
                category_id=1,
                iscrowd=0,
                segmentations=_track([hit]),
                areas=[50]),
            dict(
                id=2,
                video_id=2,
                category_id=2,
                iscrowd=0,
                segmentations=_track([hit]),
                areas=[50])
        ],
        categories=[dict(id=1, name='a'),
                    dict(id=2, name='b')])
    results = [
        dict(
            video_id=1,
            category_id=1,
            score=0.7 if i % 2 else 0.5,
            segmentations=_track([miss])) for i in range(39)
    ]
    results.insert(
        20,
        dict(
            video_id=1, category_id=1, score=0.5, segmentations=_track([hit])))
    # category 2: the hit in video 2 is listed first, the miss in video 1
    results.insert(
        0,
        dict(
            video_id=2, category_id=2, score=0.5, segmentations=_track([hit])))
    results.append(
        dict(
            video_id=1, category_id=2, score=0.5,
            segmentations=_track([miss])))
    stats = _stats_and_official(gt, results, monkeypatch)
    # category 1: precision 1/30 at every recall point; category 2: 1/2
    assert stats['AP'] == approx((1 / 30 + 1 / 2) / 2)


def test_ignored_ground_truth_is_taken_once(monkeypatch):
    """In the small range, A and B (large by their areas field) are
    ignored. dt1 takes A and is ignored; its duplicate dt2 finds A taken
    and B elsewhere, so it is a small false positive before the hit on C.
    """
    top, bottom = _rows_mask(slice(0, 3)), _rows_mask(slice(7, 10))
    small = _rows_mask(slice(4, 6))
    gt = dict(
        videos=[_video(1, 10, 10, 1)],
        annotations=[
            dict(
                id=1,
                video_id=1,
                category_id=1,
                iscrowd=0,
                segmentations=_track([top]),
                areas=[70000]),
            dict(
                id=2,
                video_id=1,
                category_id=1,
                iscrowd=0,
                segmentations=_track([bottom]),
                areas=[70000]),
            dict(
                id=3,
                video_id=1,
                category_id=1,
                iscrowd=0,
                segmentations=_track([small]),
                areas=[20]),
        ],
        categories=[dict(id=1, name='a')])
    results = [
        dict(video_id=1, category_id=1, score=s, segmentations=_track([m]))
        for s, m in ((0.9, top), (0.8, top), (0.7, small))
    ]
    stats = _stats_and_official(gt, results, monkeypatch)
    assert stats['APs'] == approx(0.5)


def test_areas_field_sets_the_area_range_and_masks_fill_in():
    gt, results = _partial_overlap_case()
    without_areas = copy.deepcopy(gt)
    del without_areas['annotations'][0]['areas']
    # mask areas 30, 10, 10: the same mean as the areas field
    assert evaluate_vis(without_areas, results) == evaluate_vis(gt, results)
    large = copy.deepcopy(gt)
    large['annotations'][0]['areas'] = [70000, None, 0, 70000]
    stats = evaluate_vis(large, results)
    assert stats['APl'] == approx(0.3) and stats['APs'] == -1


def test_frame_count_mismatch_names_the_video():
    gt, results = _partial_overlap_case()
    results[0]['segmentations'] = results[0]['segmentations'][:3]
    with pytest.raises(VISFormatError, match=r'video 3 has 4 frames but 3'):
        evaluate_vis(gt, results)


def test_unknown_video_and_category_are_named():
    gt, results = _partial_overlap_case()
    bad_video = [dict(results[0], video_id=99)]
    with pytest.raises(VISFormatError, match='unknown video_id 99'):
        evaluate_vis(gt, bad_video)
    bad_category = [dict(results[0], category_id=7)]
    with pytest.raises(VISFormatError, match='unknown category_id 7'):
        evaluate_vis(gt, bad_category)


def test_mask_size_mismatch_and_malformed_json_are_named(tmp_path):
    gt, results = _partial_overlap_case()
    results[0]['segmentations'][0] = _rle(np.ones((10, 12), np.uint8))
    with pytest.raises(VISFormatError,
                       match=r'frame 0: RLE "size" is \[10, 12\] but the '
                       r'video is \[10, 10\]'):
        evaluate_vis(gt, results)
    broken = tmp_path / 'broken.json'
    broken.write_text('{"videos": [')
    with pytest.raises(VISFormatError, match='broken.json: malformed JSON'):
        evaluate_vis(str(broken), [])


def test_paths_and_empty_results(tmp_path):
    gt, results = _partial_overlap_case()
    gt_path, res_path = tmp_path / 'gt.json', tmp_path / 'res.json'
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    assert evaluate_vis(gt_path, res_path) == evaluate_vis(gt, results)
    stats = evaluate_vis(gt, [])
    assert stats['AP'] == 0.0 and stats['AR100'] == 0.0
    assert stats['APm'] == -1


NO, SLIGHT, SEVERE = 'no_occlusion', 'slight_occlusion', 'severe_occlusion'


@pytest.mark.parametrize(
    'labels, score, levels',
    [
        # n labelled frames: the mean of the top ceil(n / 2) scores
        ([NO, NO, NO], 0.0, ('light', )),
        ([NO, None, SEVERE], 0.75, ('heavy', )),  # n=2: top 1
        ([SLIGHT], 0.25, ('light', 'medium')),
        # n=4: top 2 = 0.25, 0.25 (the mean of all would be 0.125)
        ([NO, SLIGHT, NO, SLIGHT], 0.25, ('light', 'medium')),
        # n=3: top 2 = 0.25, 0.75 (the mean of all would be 1/3)
        ([NO, SLIGHT, SEVERE], 0.5, ('medium', 'heavy')),
        # n=4: top 2 = 0, 0.75 (the mean of all would be 0.1875, light)
        ([NO, NO, NO, SEVERE], 0.375, ('medium', )),
        # n=5: top 3 = 0, 0.25, 0.75
        ([NO, SEVERE, NO, SLIGHT, NO], 1 / 3, ('medium', )),
        ([SEVERE, NO, SEVERE, None], 0.75, ('heavy', )),
        ([SLIGHT, SLIGHT, NO], 0.25, ('light', 'medium')),
    ])
def test_occlusion_score_is_the_top_half_mean(labels, score, levels):
    assert occlusion_score(labels, 'x') == score
    assert occlusion_levels(score) == levels


def test_occlusion_score_errors_name_the_annotation():
    with pytest.raises(VISFormatError,
                       match="ann 4: occlusion label 'partly' in frame 1"):
        occlusion_score([NO, 'partly'], 'ann 4')
    with pytest.raises(VISFormatError,
                       match='ann 5: none of its 2 frames has an occlusion'):
        occlusion_score([None, None], 'ann 5')


def _occlusion_case():
    """One 3-frame video; four fish whose occlusion scores are 0 (light),
    0.25 (light and medium), 0.5 (medium and heavy) and 0.75 (heavy).

    Predictions, perfect masks: a false positive (score 0.95), fish 1
    (0.9), fish 3 (0.8), fish 4 (0.7); fish 2 is missed.
    """
    boxes = [(0, 0, 20, 20), (40, 0, 20, 20), (0, 40, 20, 20),
             (40, 40, 20, 20)]
    labels = [[NO, NO, NO], [NO, SLIGHT, SLIGHT], [NO, SEVERE, SLIGHT],
              [SEVERE, SEVERE, None]]
    annotations = []
    for i, (box, occlusion) in enumerate(zip(boxes, labels), 1):
        masks = [_box_mask(80, 80, *box) for _ in range(3)]
        masks[2] = masks[2] if occlusion[2] else None
        annotations.append(
            dict(
                id=i,
                video_id=1,
                category_id=1,
                iscrowd=0,
                segmentations=_track(masks),
                occlusion=occlusion))
    gt = dict(
        videos=[_video(1, 80, 80, 3)],
        annotations=annotations,
        categories=[dict(id=1, name='fish')])
    false_positive = _track([_box_mask(80, 80, 62, 62, 10, 10)] * 3)
    results = [
        dict(
            video_id=1,
            category_id=1,
            score=0.95,
            segmentations=false_positive)
    ] + [
        dict(
            video_id=1,
            category_id=1,
            score=s,
            segmentations=annotations[i]['segmentations'])
        for i, s in ((0, 0.9), (2, 0.8), (3, 0.7))
    ]
    return gt, results


def test_occlusion_level_aps_and_ars_follow_the_official_ovis_code():
    """Hand-computed; the same at every IoU threshold (perfect masks).

    light {1, 2}: FP, TP (fish 3 and 4 match ignored ground truth):
    precision 1/2 up to recall 1/2: AP = 0.5 * 51/101, AR = 1/2.
    medium {2, 3}: FP, (fish 1 ignored), TP: the same.
    heavy {3, 4}: FP, TP, TP: precision 2/3 at recall 1/2 and 1 -> 2/3
    at every recall point, AR = 1.
    all {1..4}: FP, TP, TP, TP: precision 3/4 up to recall 3/4:
    AP = 0.75 * 76/101, AR100 = 3/4.
    """
    gt, results = _occlusion_case()
    stats = evaluate_vis(gt, results)
    assert list(stats) == list(OVIS_STAT_NAMES)
    assert len(stats) == 18
    expected = dict(
        AP=0.75 * 76 / 101,
        AR100=0.75,
        AP_light=0.5 * 51 / 101,
        AP_medium=0.5 * 51 / 101,
        AP_heavy=2 / 3,
        AR_light=0.5,
        AR_medium=0.5,
        AR_heavy=1.0)
    assert {k: stats[k] for k in expected} == approx(expected)
    # no occlusion labels: the 12 YouTube-VIS stats only
    for ann in gt['annotations']:
        del ann['occlusion']
    assert list(evaluate_vis(gt, results)) == list(VIS_STAT_NAMES)


@pytest.mark.parametrize('seed', range(3))
def test_occlusion_levels_equal_official_code_on_ignored_ground_truth(
        seed, monkeypatch):
    """An occlusion level is the 'all' subset with the other levels'
    instances ignored: give those a mean area above the official 'all'
    range (1e10) and mmdet's vendored official code must report our
    AP_<level> and AR_<level> as its AP and AR100, and the same tables.
    """
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt, results = random_vis_data(seed, many_dets=seed == 0)
    rng = np.random.default_rng(100 + seed)
    label_scores = {NO: 0.0, SLIGHT: 0.25, SEVERE: 0.75}
    scores = []
    for ann in gt['annotations']:
        labels = [
            str(rng.choice(list(label_scores)))
            if rng.random() < 0.8 else None for _ in ann['segmentations']
        ]
        labels[int(rng.integers(len(labels)))] = str(
            rng.choice(list(label_scores)))
        ann['occlusion'] = labels
        frame_scores = sorted(label_scores[x] for x in labels if x)
        scores.append(float(np.mean(frame_scores[len(frame_scores) // 2:])))
    ours, stats = run_ours(gt, results)
    assert list(stats) == list(OVIS_STAT_NAMES)

    levels = {'light': (0, 0.25), 'medium': (0.25, 0.5), 'heavy': (0.5, 1)}
    for s, (level, (low, high)) in enumerate(levels.items(), start=4):
        inside = [low <= score <= high for score in scores]
        assert 0 < sum(inside) < len(inside)
        level_gt = copy.deepcopy(gt)
        for ann, keep in zip(level_gt['annotations'], inside):
            del ann['occlusion']
            if not keep:
                ann['areas'] = [2e10 if a else a for a in ann['areas']]
        official = official_eval(level_gt, results)
        official.accumulate()
        official.summarize()
        assert stats[f'AP_{level}'] == approx(official.stats[0]), level
        assert stats[f'AR_{level}'] == approx(official.stats[8]), level
        np.testing.assert_allclose(
            ours.precision[:, :, :, s], official.eval['precision'][..., 0, :],
            atol=1e-9)
        np.testing.assert_allclose(
            ours.recall[:, :, s], official.eval['recall'][..., 0, :],
            atol=1e-9)
    # boundary scores, which count in two levels, are present
    assert {0.25, 0.5} <= set(scores)


def test_occlusion_label_errors_name_the_annotation():
    gt, results = _occlusion_case()
    gt['annotations'][1]['occlusion'] = [None, None, None]
    with pytest.raises(
            VISFormatError,
            match=r'annotations\[1\] \(id 2\): none of its 3 frames has an '
            'occlusion label'):
        evaluate_vis(gt, results)
    del gt['annotations'][1]['occlusion']
    with pytest.raises(
            VISFormatError,
            match=r'annotations\[1\] \(id 2\): no "occlusion" labels while '
            'other annotations have them'):
        evaluate_vis(gt, results)
    gt['annotations'][1]['occlusion'] = [NO, NO]
    with pytest.raises(VISFormatError,
                       match=r'\(id 2\): "occlusion" must list 3 labels'):
        evaluate_vis(gt, results)


def _direct_greedy_match(ious, crowd, gt_ignored, dt_outside, thresholds):
    """The COCO greedy matching as the official evaluateImg loops: per
    subset and threshold, each prediction in turn takes the best free
    ground truth, a regular one before an ignored one, the last of equal
    IoUs."""
    num_sub, num_thr, (num_dt, num_gt) = len(gt_ignored), len(thresholds), \
        ious.shape
    matched = np.zeros((num_sub, num_thr, num_dt), bool)
    ignored = np.zeros((num_sub, num_thr, num_dt), bool)
    for s in range(num_sub):
        for t, thr in enumerate(thresholds):
            taken = [False] * num_gt
            for d in range(num_dt):
                best = None
                for want_ignored in (False, True):
                    best_iou = None
                    for g in range(num_gt):
                        if bool(gt_ignored[s, g]) != want_ignored:
                            continue
                        if ious[d, g] < thr or (taken[g] and not crowd[g]):
                            continue
                        if best_iou is None or ious[d, g] >= best_iou:
                            best, best_iou = g, ious[d, g]
                    if best is not None:
                        break
                if best is not None:
                    matched[s, t, d] = True
                    ignored[s, t, d] = gt_ignored[s, best]
                    taken[best] = True
                elif dt_outside[s, d]:
                    ignored[s, t, d] = True
    return matched, ignored


def test_compiled_greedy_match_equals_a_direct_loop():
    from mmvis_clip.evaluation.functional.vis_eval import VISEval
    rng = np.random.default_rng(0)
    thresholds = np.minimum(VISEval.iou_thresholds, 1 - 1e-10)
    seen_tie = False
    for trial in range(300):
        num_dt, num_gt, num_sub = rng.integers(0, 6), rng.integers(
            0, 5), rng.integers(1, 5)
        # coarse IoUs: ties and values on the thresholds
        ious = rng.integers(0, 21, (num_dt, num_gt)) / 20.0
        crowd = rng.random(num_gt) < 0.2
        gt_ignored = rng.random((num_sub, num_gt)) < 0.3
        dt_outside = rng.random((num_sub, num_dt)) < 0.3
        evaluator = VISEval.__new__(VISEval)
        got = evaluator._match(ious, np.arange(num_dt, 0, -1.), crowd,
                               gt_ignored | crowd, dt_outside)
        want = _direct_greedy_match(ious, crowd, gt_ignored | crowd,
                                    dt_outside, thresholds)
        np.testing.assert_array_equal(got.dt_matched, want[0], str(trial))
        np.testing.assert_array_equal(got.dt_ignored, want[1], str(trial))
        seen_tie |= any(len(set(row)) < len(row) for row in ious.tolist())
    assert seen_tie
