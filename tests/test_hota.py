"""HOTA / DetA / AssA / LocA / IDF1 through TrackEval: the glue.

Hand-computed cases (perfect tracks, two tracks swapping ids at mid-video)
and agreement with TrackEval's own YouTube-VIS runner on the same files.
"""
import copy
import csv
import json
import math
import sys

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from test_vis_eval import _rle, _uncompressed_rle

from mmvis_clip.evaluation.functional import (HOTA_STAT_NAMES, OVIS_STAT_NAMES,
                                              HOTAUnavailableError,
                                              evaluate_hota, evaluate_vis)
from mmvis_clip.evaluation.functional.hota import uncompressed_counts
from mmvis_clip.structures import VISFormatError

approx = pytest.approx


def _box(height, width, x0, y0, w, h):
    mask = np.zeros((height, width), np.uint8)
    x0, y0 = max(0, x0), max(0, y0)
    mask[y0:y0 + h, x0:x0 + w] = 1
    return mask


def _video(video_id, height, width, length):
    return dict(
        id=video_id,
        height=height,
        width=width,
        length=length,
        file_names=[f'vid{video_id}/{t:05d}.jpg' for t in range(length)])


def _gt_annotation(ann_id, video, category_id, masks, **extra):
    """A raw YouTube-VIS annotation (uncompressed RLEs, as the dataset)."""
    return dict(
        id=ann_id,
        video_id=video['id'],
        category_id=category_id,
        iscrowd=0,
        height=video['height'],
        width=video['width'],
        length=video['length'],
        segmentations=[
            None if m is None else _uncompressed_rle(m) for m in masks
        ],
        areas=[None if m is None else int(m.sum()) for m in masks],
        **extra)


def _two_track_case(jitter=0):
    """One 20x40 video of 6 frames, fish A (left) and fish B (right) apart.

    Predictions follow each fish; with ``jitter`` their boxes are shifted
    by a frame-dependent amount so that IoUs are below 1.
    """
    video = _video(1, 20, 40, 6)
    fish_a = [_box(20, 40, 2, 2, 10, 10) for _ in range(6)]
    fish_b = [_box(20, 40, 24, 6, 10, 10) for _ in range(6)]
    gt = dict(
        videos=[video],
        annotations=[
            _gt_annotation(1, video, 1, fish_a),
            _gt_annotation(2, video, 1, fish_b)
        ],
        categories=[dict(id=1, name='fish')])
    shifts = [(t * jitter) % 3 for t in range(6)]
    pred_a = [_rle(_box(20, 40, 2 + s, 2, 10, 10)) for s in shifts]
    pred_b = [_rle(_box(20, 40, 24, 6 + s, 10, 10)) for s in shifts]
    return gt, pred_a, pred_b


def _results(*tracks):
    return [
        dict(video_id=1, category_id=1, score=0.9 - 0.1 * i,
             segmentations=track) for i, track in enumerate(tracks)
    ]


@pytest.mark.parametrize('average', ['detection', 'class'])
def test_perfect_result_scores_one(average):
    gt, _, _ = _two_track_case()
    tracks = [[_rle(mask_utils.decode(mask_utils.frPyObjects(s, 20, 40)))
               for s in ann['segmentations']] for ann in gt['annotations']]
    stats = evaluate_hota(gt, _results(*tracks), average=average)
    assert list(stats) == list(HOTA_STAT_NAMES)
    assert stats == approx(dict(HOTA=1, DetA=1, AssA=1, LocA=1, IDF1=1),
                           abs=1e-12)


def test_swapping_ids_at_mid_video_lowers_assa_only():
    """Fish A and B, 6 frames each; prediction 1 follows A for frames 0-2
    then B, prediction 2 the reverse. Every detection still matches (DetA
    1), but each pair of track ids shares 3 of 6 + 6 detections: AssA =
    3 / (6 + 6 - 3) = 1/3, HOTA = sqrt(1/3); IDF1: 6 of 12 detections are
    on the best id assignment, IDF1 = 6 / (6 + 3 + 3) = 1/2.
    """
    gt, pred_a, pred_b = _two_track_case()
    perfect = evaluate_hota(gt, _results(pred_a, pred_b))
    swapped = evaluate_hota(
        gt, _results(pred_a[:3] + pred_b[3:], pred_b[:3] + pred_a[3:]))
    assert perfect == approx(dict(HOTA=1, DetA=1, AssA=1, LocA=1, IDF1=1),
                             abs=1e-12)
    assert swapped == approx(
        dict(HOTA=math.sqrt(1 / 3), DetA=1, AssA=1 / 3, LocA=1, IDF1=0.5),
        abs=1e-12)


def test_swapping_ids_keeps_deta_with_imperfect_masks():
    gt, pred_a, pred_b = _two_track_case(jitter=1)
    straight = evaluate_hota(gt, _results(pred_a, pred_b))
    swapped = evaluate_hota(
        gt, _results(pred_a[:3] + pred_b[3:], pred_b[:3] + pred_a[3:]))
    assert 0 < straight['DetA'] < 1 and straight['LocA'] < 1
    assert swapped['DetA'] == approx(straight['DetA'], abs=1e-12)
    assert swapped['LocA'] == approx(straight['LocA'], abs=1e-12)
    assert swapped['AssA'] < straight['AssA'] - 0.3
    assert swapped['HOTA'] < straight['HOTA']
    assert swapped['IDF1'] < straight['IDF1']


def test_score_threshold_drops_predictions_for_hota_only():
    gt, pred_a, pred_b = _two_track_case()
    stray = [_rle(_box(20, 40, 14, 12, 6, 6))] * 6
    results = _results(pred_a, pred_b) + [
        dict(video_id=1, category_id=1, score=0.2, segmentations=stray)
    ]
    # 12 true positives and 6 false positives at every alpha
    assert evaluate_hota(gt, results)['DetA'] == approx(12 / 18, abs=1e-12)
    assert evaluate_hota(gt, results, score_thr=0.5) == approx(
        dict(HOTA=1, DetA=1, AssA=1, LocA=1, IDF1=1), abs=1e-12)
    assert evaluate_hota(gt, results, score_thr=0.95)['HOTA'] == 0
    with pytest.raises(ValueError, match='HOTA average'):
        evaluate_hota(gt, results, average='video')


def test_uncompressed_counts_invert_pycocotools():
    rng = np.random.default_rng(0)
    masks = [np.zeros((3, 4), np.uint8), np.ones((3, 4), np.uint8)]
    masks += [(rng.random(tuple(rng.integers(1, 40, 2))) < rng.random())
              for _ in range(50)]
    big = np.zeros((720, 1280), np.uint8)  # long runs: multi-char values
    big[700:710, 1000:1270] = 1
    big[3, 5] = 1
    masks.append(big)
    for mask in masks:
        mask = mask.astype(np.uint8)
        rle = _rle(mask)
        counts = uncompressed_counts(rle['counts'])
        assert counts == _uncompressed_rle(mask)['counts']
        assert uncompressed_counts(rle['counts'].encode()) == counts


def _tracking_case(seed):
    """Random ground truth and results for the runner comparison.

    Three videos, categories 1-3 (3 only ever predicted), 2-4 moving
    instances per video that cross each other and leave frames; per
    instance 0-2 predictions with jittered boxes over some of its frames,
    some switching to another instance at a random frame, plus stray
    false positives and predictions on the wrong category.
    """
    rng = np.random.default_rng(seed)
    videos, annotations, results = [], [], []
    for v, (height, width) in enumerate([(48, 64), (40, 56), (64, 48)]):
        video = _video(10 + v, height, width, int(rng.integers(6, 10)))
        videos.append(video)
        length = video['length']
        tracks = []
        for _ in range(int(rng.integers(2, 5))):
            w, h = (int(rng.integers(8, 20)) for _ in range(2))
            x0, y0 = int(rng.integers(0, width - w)), int(
                rng.integers(0, height - h))
            vx, vy = (float(rng.uniform(-3, 3)) for _ in range(2))
            boxes = [(int(x0 + vx * t), int(y0 + vy * t), w, h)
                     if rng.random() > 0.15 else None for t in range(length)]
            if not any(boxes):
                boxes[0] = (x0, y0, w, h)
            category = int(rng.integers(1, 3))
            tracks.append((category, boxes))
            annotations.append(
                _gt_annotation(
                    len(annotations) + 1, video, category,
                    [None if b is None else _box(height, width, *b)
                     for b in boxes]))
        for category, boxes in tracks:
            for _ in range(int(rng.integers(0, 3))):
                other = tracks[int(rng.integers(len(tracks)))][1]
                switch = int(rng.integers(1, length + 3))
                segs = []
                for t in range(length):
                    b = boxes[t] if t < switch else other[t]
                    if b is None or rng.random() < 0.1:
                        segs.append(None)
                        continue
                    jx, jy = (int(rng.integers(-3, 4)) for _ in range(2))
                    segs.append(
                        _rle(_box(height, width, b[0] + jx, b[1] + jy, b[2],
                                  b[3])))
                results.append(
                    dict(
                        video_id=video['id'],
                        category_id=category
                        if rng.random() < 0.85 else 3,
                        score=float(np.round(rng.random(), 2)),
                        segmentations=segs))
        for _ in range(int(rng.integers(0, 3))):
            w, h = (int(rng.integers(5, 15)) for _ in range(2))
            segs = [
                _rle(
                    _box(height, width, int(rng.integers(0, width - w)),
                         int(rng.integers(0, height - h)), w, h))
                if rng.random() < 0.6 else None for _ in range(length)
            ]
            results.append(
                dict(
                    video_id=video['id'],
                    category_id=int(rng.integers(1, 4)),
                    score=float(np.round(rng.random(), 2)),
                    segmentations=segs))
    categories = [
        dict(id=i, name=n) for i, n in ((1, 'person'), (2, 'car'),
                                        (3, 'fish'))
    ]
    return dict(
        videos=videos, annotations=annotations,
        categories=categories), results


def _run_trackeval_runner(gt, results, folder):
    """TrackEval's YouTube-VIS runner (scripts/run_youtube_vis.py of the
    TrackEval repository) on files in its layout: its default configs,
    its metrics (TrackMAP with the YouTube-VIS area ranges, HOTA, CLEAR,
    Identity), no plots. Returns the paths of the files it wrote.
    """
    import trackeval
    split = 'valid'
    gt_dir = folder / 'gt' / f'youtube_vis_{split}'
    res_dir = folder / 'trackers' / f'youtube_vis_{split}' / 'model' / 'data'
    gt_dir.mkdir(parents=True)
    res_dir.mkdir(parents=True)
    gt_path, res_path = gt_dir / 'valid.json', res_dir / 'results.json'
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))

    eval_config = trackeval.Evaluator.get_default_eval_config()
    eval_config.update(
        PRINT_ONLY_COMBINED=True,
        PLOT_CURVES=False,
        PRINT_CONFIG=False,
        LOG_ON_ERROR=str(folder / 'error_log.txt'))
    dataset_config = trackeval.datasets.YouTubeVIS.get_default_dataset_config()
    dataset_config.update(
        GT_FOLDER=str(folder / 'gt') + '/',
        TRACKERS_FOLDER=str(folder / 'trackers') + '/',
        SPLIT_TO_EVAL=split,
        PRINT_CONFIG=False)
    track_map_config = trackeval.metrics.TrackMAP.get_default_metric_config()
    track_map_config.update(
        USE_TIME_RANGES=False,
        AREA_RANGES=[[0**2, 128**2], [128**2, 256**2], [256**2, 1e5**2]],
        PRINT_CONFIG=False)
    metrics = [
        trackeval.metrics.TrackMAP(track_map_config),
        trackeval.metrics.HOTA(),
        trackeval.metrics.CLEAR(dict(PRINT_CONFIG=False)),
        trackeval.metrics.Identity(dict(PRINT_CONFIG=False)),
    ]
    output, messages = trackeval.Evaluator(eval_config).evaluate(
        [trackeval.datasets.YouTubeVIS(dataset_config)], metrics)
    assert messages['YouTubeVIS']['model'] == 'Success'
    out_dir = folder / 'trackers' / f'youtube_vis_{split}' / 'model'
    return gt_path, res_path, out_dir


def _runner_row(out_dir, combination):
    """The COMBINED row of the runner's detailed csv, full precision."""
    with open(out_dir / f'{combination}_detailed.csv') as f:
        rows = list(csv.DictReader(f))
    row = rows[-1]
    assert row['seq'] == 'COMBINED'
    return dict(
        HOTA=float(row['HOTA___AUC']),
        DetA=float(row['DetA___AUC']),
        AssA=float(row['AssA___AUC']),
        LocA=float(row['LocA___AUC']),
        IDF1=float(row['IDF1']))


@pytest.mark.parametrize('seed', range(3))
def test_same_numbers_as_trackeval_youtube_vis_runner(seed, tmp_path,
                                                      capsys):
    gt, results = _tracking_case(seed)
    gt_path, res_path, out_dir = _run_trackeval_runner(gt, results, tmp_path)
    capsys.readouterr()
    for average, combination in (('detection', 'cls_comb_det_av'),
                                 ('class', 'cls_comb_cls_av')):
        theirs = _runner_row(out_dir, combination)
        ours = evaluate_hota(gt_path, res_path, average=average)
        assert ours == approx(theirs, rel=1e-12, abs=1e-12), average
        # the 5-digit summary file agrees too
        with open(out_dir / f'{combination}_summary.txt') as f:
            fields, values = (line.split() for line in f)
        summary = dict(zip(fields, map(float, values)))
        for name in HOTA_STAT_NAMES:
            assert 100 * ours[name] == approx(summary[name], rel=1e-4)
    # not a trivial case: detection and association both imperfect
    stats = evaluate_hota(gt_path, res_path)
    assert 0.1 < stats['DetA'] < 0.95 and 0.1 < stats['AssA'] < 0.99
    assert capsys.readouterr().out == ''  # TrackEval's prints are caught


def test_other_encodings_of_the_same_masks_give_the_same_numbers():
    """Compressed RLEs and polygons, no ``areas``/``height``/``width``/
    ``file_names``: what TrackEval's dataset class cannot read, the glue
    converts without changing the numbers."""
    gt, results = _tracking_case(7)
    other = copy.deepcopy(gt)
    for video in other['videos']:
        del video['file_names']
    for i, (ann, ref) in enumerate(zip(other['annotations'],
                                       gt['annotations'])):
        for key in ('areas', 'height', 'width', 'length'):
            del ann[key]
        for t, seg in enumerate(ann['segmentations']):
            if seg is None:
                continue
            height, width = seg['size']
            mask = mask_utils.decode(mask_utils.frPyObjects(seg, *seg['size']))
            if i % 2:
                ann['segmentations'][t] = _rle(mask)
                continue
            ys, xs = np.nonzero(mask)  # a box: its polygon
            x0, y0 = int(xs.min()), int(ys.min())
            x1, y1 = int(xs.max()) + 1, int(ys.max()) + 1
            polygon = [[x0, y0, x1, y0, x1, y1, x0, y1]]
            ann['segmentations'][t] = polygon
            # the reference holds the polygon's own mask
            ref['segmentations'][t] = _uncompressed_rle(
                mask_utils.decode(
                    mask_utils.merge(
                        mask_utils.frPyObjects(polygon, height, width))))
    reference = evaluate_hota(gt, results)
    assert 0 < reference['HOTA'] < 1
    assert evaluate_hota(other, results) == approx(reference, abs=1e-12)


def test_ovis_ground_truth_gives_18_stats_and_hota():
    gt, results = _tracking_case(1)
    for ann in gt['annotations']:
        ann['occlusion'] = [
            None if seg is None else 'slight_occlusion'
            for seg in ann['segmentations']
        ]
    stats = evaluate_vis(gt, results, hota=True)
    assert list(stats) == list(OVIS_STAT_NAMES + HOTA_STAT_NAMES)
    for ann in gt['annotations']:
        del ann['occlusion']
    assert evaluate_hota(gt, results) == approx(
        {k: stats[k] for k in HOTA_STAT_NAMES}, abs=1e-12)


def test_bad_input_and_missing_trackeval_are_named(monkeypatch):
    gt, pred_a, pred_b = _two_track_case()
    results = _results(pred_a, pred_b)
    results[1]['segmentations'] = results[1]['segmentations'][:5]
    with pytest.raises(VISFormatError,
                       match=r'result 1 \(video 1\): video 1 has 6 frames'):
        evaluate_hota(gt, results)
    monkeypatch.setitem(sys.modules, 'trackeval', None)
    with pytest.raises(HOTAUnavailableError,
                       match='HOTA needs TrackEval: pip install trackeval'):
        evaluate_hota(gt, _results(pred_a, pred_b))
