"""VISMetric: whole-video collection, evaluation, results files."""
import json
import zipfile

import numpy as np
import pytest
import torch
from mmdet.evaluation.metrics import YouTubeVISMetric
from mmdet.registry import METRICS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

import mmvis_clip  # noqa: F401  (registers VISMetric)
from mmvis_clip.evaluation import VISMetric, evaluate_vis
from mmvis_clip.evaluation.functional import (HOTA_STAT_NAMES, OVIS_STAT_NAMES,
                                              VIS_STAT_NAMES, evaluate_hota)
from mmvis_clip.structures import VISFormatError

CLASSES = ('cat', 'dog')
CAT_IDS = (3, 7)  # the ground-truth json's ids of CLASSES
HEIGHT, WIDTH = 24, 32
LENGTHS = {1: 3, 2: 2}


def box(x0, y0, x1, y1):
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def rle(mask):
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    encoded['counts'] = encoded['counts'].decode()
    return encoded


# ground truth: (video, instance id, label, per-frame masks)
GT_TRACKS = [
    (1, 11, 0, [box(0, 0, 10, 10),
                box(1, 0, 11, 10),
                box(2, 0, 12, 10)]),
    (1, 12, 1, [box(15, 5, 30, 20),
                box(15, 6, 30, 21), None]),
    (2, 21, 1, [box(4, 4, 20, 20), box(5, 4, 21, 20)]),
]
# predictions: (video, track id, per-frame (label, score, mask) or None)
PRED_TRACKS = [
    (1, 0, [(0, .9, box(0, 0, 10, 10)), (0, .9, box(1, 0, 11, 9)),
            (0, .9, box(2, 0, 12, 10))]),
    (1, 1, [(1, .6, box(15, 5, 30, 16)), (1, .6, box(15, 6, 30, 17)), None]),
    (1, 2, [None, (0, .3, box(20, 0, 28, 4)), (1, .3, box(20, 0, 28, 4))]),
    (2, 0, [(1, .8, box(4, 4, 20, 20)), (1, .8, box(5, 4, 21, 20))]),
]


def gt_json():
    """The ground truth in raw YouTube-VIS format, ids CAT_IDS."""
    videos = [
        dict(
            id=v,
            height=HEIGHT,
            width=WIDTH,
            length=n,
            file_names=[f'{v}/{f}.jpg' for f in range(n)])
        for v, n in LENGTHS.items()
    ]
    annotations = [
        dict(
            id=inst_id,
            video_id=v,
            category_id=CAT_IDS[label],
            iscrowd=0,
            segmentations=[None if m is None else rle(m) for m in masks],
            areas=[None if m is None else int(m.sum()) for m in masks])
        for v, inst_id, label, masks in GT_TRACKS
    ]
    categories = [dict(id=i, name=n) for i, n in zip(CAT_IDS, CLASSES)]
    return dict(videos=videos, annotations=annotations, categories=categories)


def expected_results(cat_ids=CAT_IDS):
    """The YouTube-VIS results the metric should write."""
    results = []
    for v, _, frames in PRED_TRACKS:
        present = [f for f in frames if f is not None]
        labels = [label for label, _, _ in present]
        results.append(
            dict(
                video_id=v,
                category_id=cat_ids[np.bincount(labels).argmax()],
                score=float(np.mean(np.float32([s for _, s, _ in present]))),
                segmentations=[
                    None if f is None else rle(f[2]) for f in frames
                ]))
    return results


def track_sample(video_id, num_frames=None):
    """One video's TrackDataSample with GT instances and predictions."""
    length = LENGTHS[video_id]
    frames = []
    for f in range(length if num_frames is None else num_frames):
        instances = [
            dict(
                bbox=[0., 0., 1., 1.],
                bbox_label=label,
                mask=rle(masks[f]),
                instance_id=inst_id,
                ignore_flag=0) for v, inst_id, label, masks in GT_TRACKS
            if v == video_id and masks[f] is not None
        ]
        preds = [(track_id, frames_[f]) for v, track_id, frames_ in PRED_TRACKS
                 if v == video_id and frames_[f] is not None]
        sample = DetDataSample(
            metainfo=dict(
                img_id=100 * video_id + f,
                video_id=video_id,
                frame_id=f,
                ori_shape=(HEIGHT, WIDTH),
                ori_video_length=length,
                instances=instances))
        pred = InstanceData()
        pred.bboxes = torch.zeros((len(preds), 4))
        pred.scores = torch.tensor([p[1] for _, p in preds], dtype=torch.float)
        pred.labels = torch.tensor([p[0] for _, p in preds], dtype=torch.long)
        pred.instances_id = torch.tensor([t for t, _ in preds],
                                         dtype=torch.long)
        pred.masks = torch.from_numpy(
            np.stack([p[2] for _, p in preds]) if preds else np.zeros((
                0, HEIGHT, WIDTH), bool))
        sample.pred_track_instances = pred
        frames.append(sample)
    track = TrackDataSample()
    track.video_data_samples = frames
    return track


def run_metric(metric, dataset_meta=None):
    metric.dataset_meta = dataset_meta or dict(classes=CLASSES)
    for video_id in LENGTHS:
        metric.process({}, [track_sample(video_id).to_dict()])
    return metric.evaluate(size=len(LENGTHS))


def test_registered_subclass_of_mmdet_metric(tmp_path):
    metric = METRICS.build(dict(type='VISMetric'))
    assert isinstance(metric, VISMetric)
    assert isinstance(metric, YouTubeVISMetric)
    assert metric.prefix == 'youtube_vis'


def test_ann_file_evaluation_matches_the_evaluator(tmp_path):
    gt = gt_json()
    ann_file = tmp_path / 'valid.json'
    ann_file.write_text(json.dumps(gt))
    metrics = run_metric(VISMetric(ann_file=str(ann_file)))

    direct = evaluate_vis(gt, expected_results())
    assert list(metrics) == [f'youtube_vis/{n}' for n in VIS_STAT_NAMES]
    for name in VIS_STAT_NAMES:
        assert metrics[f'youtube_vis/{name}'] == pytest.approx(
            direct[name], abs=1e-12), name
    # one miss (the dog in video 1 is cut short) and one false positive
    assert 0.3 < metrics['youtube_vis/AP'] < 0.95
    assert metrics['youtube_vis/AP50'] == pytest.approx(1, abs=1e-12)


def test_same_ap_as_mmdet_metric(monkeypatch):
    """mmdet's YouTubeVISMetric (given numpy's old ``np.float``) agrees."""
    monkeypatch.setattr(np, 'float', float, raising=False)
    theirs = run_metric(YouTubeVISMetric())
    ours = run_metric(VISMetric())
    for name, their_name in (('AP', 'mAP'), ('AP50', 'mAP_50'),
                             ('AP75', 'mAP_75'), ('APs', 'mAP_s')):
        assert round(ours[f'youtube_vis/{name}'],
                     3) == theirs[f'youtube_vis/segm_{their_name}']


def test_ground_truth_from_samples_gives_the_same_numbers(tmp_path):
    ann_file = tmp_path / 'valid.json'
    ann_file.write_text(json.dumps(gt_json()))
    with_file = run_metric(VISMetric(ann_file=str(ann_file)))
    from_samples = run_metric(VISMetric())
    assert from_samples == pytest.approx(with_file, abs=1e-12)


def test_ann_file_occlusion_labels_give_the_18_ovis_stats(tmp_path):
    gt = gt_json()
    levels = ['no_occlusion', 'severe_occlusion', 'slight_occlusion']
    for ann, label in zip(gt['annotations'], levels):
        ann['occlusion'] = [
            None if s is None else label for s in ann['segmentations']
        ]
    ann_file = tmp_path / 'ovis_valid.json'
    ann_file.write_text(json.dumps(gt))
    metrics = run_metric(VISMetric(ann_file=str(ann_file)))
    direct = evaluate_vis(gt, expected_results())
    assert list(direct) == list(OVIS_STAT_NAMES)
    assert {'AP_light', 'AR_light', 'AP_heavy', 'AR_heavy'} <= set(direct)
    assert metrics == pytest.approx(
        {
            f'youtube_vis/{k}': v
            for k, v in direct.items()
        }, abs=1e-12)


def test_metric_runs_again_after_evaluate():
    """The second round (next epoch) of one metric gives the same stats."""
    metric = VISMetric()
    first = run_metric(metric)
    assert run_metric(metric) == first


def test_metric_items_select_stats(tmp_path):
    metrics = run_metric(VISMetric(metric_items=['AP', 'AR10']))
    assert list(metrics) == ['youtube_vis/AP', 'youtube_vis/AR10']
    with pytest.raises(KeyError, match='mAP'):
        VISMetric(metric_items=['mAP'])
    with pytest.raises(KeyError, match='occlusion'):
        run_metric(VISMetric(metric_items=['AP_heavy']))
    with pytest.raises(KeyError, match=r"\['HOTA'\] need hota=True"):
        VISMetric(metric_items=['AP', 'HOTA'])


def test_hota_option_adds_the_trackeval_stats(tmp_path):
    gt = gt_json()
    ann_file = tmp_path / 'valid.json'
    ann_file.write_text(json.dumps(gt))
    metrics = run_metric(VISMetric(ann_file=str(ann_file), hota=True))
    names = VIS_STAT_NAMES + HOTA_STAT_NAMES
    assert list(metrics) == [f'youtube_vis/{n}' for n in names]
    direct = evaluate_hota(gt, expected_results())
    for name in HOTA_STAT_NAMES:
        assert metrics[f'youtube_vis/{name}'] == pytest.approx(
            direct[name], abs=1e-12), name
    # the 0.3 prediction in video 1 is a false positive of every alpha
    assert 0 < metrics['youtube_vis/DetA'] < 1
    thresholded = run_metric(
        VISMetric(
            ann_file=str(ann_file),
            hota=True,
            hota_score_thr=0.5,
            metric_items=['AP', 'DetA']))
    assert list(thresholded) == ['youtube_vis/AP', 'youtube_vis/DetA']
    assert thresholded['youtube_vis/AP'] == metrics['youtube_vis/AP']
    assert thresholded['youtube_vis/DetA'] > metrics['youtube_vis/DetA']
    with pytest.raises(ValueError, match='hota_average'):
        VISMetric(hota=True, hota_average='sequence')


def test_format_only_writes_results_and_submission_zip(tmp_path):
    out_dir = tmp_path / 'out'
    metric = VISMetric(format_only=True, outfile_prefix=str(out_dir))
    meta = dict(classes=CLASSES, cat_ids=list(CAT_IDS))
    assert run_metric(metric, meta) == {}

    written = json.loads((out_dir / 'results.json').read_text())
    expected = expected_results()
    assert len(written) == len(expected)
    for got, want in zip(written, expected):
        assert got['score'] == pytest.approx(want['score'])
        assert {k: v for k, v in got.items() if k != 'score'} == \
            {k: v for k, v in want.items() if k != 'score'}
    with zipfile.ZipFile(out_dir / 'submission.zip') as zf:
        assert zf.namelist() == ['results.json']
        assert json.loads(zf.read('results.json')) == written
    assert sorted(p.name for p in out_dir.iterdir()) == [
        'results.json', 'submission.zip'
    ]


def test_category_ids_without_meta_ids_are_label_plus_one(tmp_path):
    metric = VISMetric(format_only=True, outfile_prefix=str(tmp_path))
    run_metric(metric)
    written = json.loads((tmp_path / 'results.json').read_text())
    assert [r['category_id'] for r in written
            ] == [r['category_id'] for r in expected_results(cat_ids=(1, 2))]


def test_format_only_without_output_is_refused():
    with pytest.raises(ValueError, match='outfile_prefix'):
        VISMetric(format_only=True)


def test_frame_count_mismatch_names_the_video(tmp_path):
    metric = VISMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(
            VISFormatError,
            match='video 1 has 3 frames but its sample holds 2'):
        metric.process({}, [track_sample(1, num_frames=2).to_dict()])

    gt = gt_json()
    gt['videos'][0]['length'] = 4
    for ann in gt['annotations'][:2]:
        ann['segmentations'].append(None)
        ann['areas'].append(None)
    ann_file = tmp_path / 'valid.json'
    ann_file.write_text(json.dumps(gt))
    with pytest.raises(VISFormatError, match='video 1 has 4 frames but 3'):
        run_metric(VISMetric(ann_file=str(ann_file)))


def _two_rank_worker(rank, store, work_dir, out_file):
    """One rank of a 2-process gloo group evaluating its own video."""
    import os

    import torch.distributed as dist
    os.chdir(work_dir)
    dist.init_process_group(
        'gloo', init_method=f'file://{store}', rank=rank, world_size=2)
    try:
        metric = VISMetric()
        metric.dataset_meta = dict(classes=CLASSES)
        video_id = sorted(LENGTHS)[rank]
        metric.process({}, [track_sample(video_id).to_dict()])
        metrics = metric.evaluate(size=len(LENGTHS))
        with open(f'{out_file}.{rank}', 'w') as f:
            json.dump(metrics, f)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_gather_through_the_process_group(tmp_path):
    """Each rank holds one video: every rank gets the single-process
    metrics, and nothing goes through files in the working directory
    (mmdet's ./.dist_test needs a shared file system across nodes)."""
    import torch.multiprocessing as mp
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    out_file = str(tmp_path / 'metrics')
    mp.spawn(
        _two_rank_worker,
        args=(str(tmp_path / 'store'), str(work_dir), out_file),
        nprocs=2)
    expected = run_metric(VISMetric())
    for rank in range(2):
        with open(f'{out_file}.{rank}') as f:
            got = json.load(f)
        assert got == pytest.approx(expected, abs=1e-12)
    assert list(work_dir.iterdir()) == []


def test_ground_truth_without_annotations_is_refused_early(tmp_path):
    gt = gt_json()
    gt['annotations'] = []
    ann_file = tmp_path / 'valid.json'
    ann_file.write_text(json.dumps(gt))
    # before any test runs, not as twelve -1 after it
    with pytest.raises(VISFormatError,
                       match=f'ann_file {ann_file} has no annotations; '
                       'nothing to evaluate.*format_only=True'):
        VISMetric(ann_file=str(ann_file))
    # writing the results of such a split is what it is for
    VISMetric(ann_file=str(ann_file), format_only=True,
              outfile_prefix=str(tmp_path / 'out'))
    # evaluate_vis names the ground truth, not the results
    with pytest.raises(VISFormatError,
                       match=f'^{ann_file}: the ground truth has no '
                       'annotation in its 2 videos; nothing to evaluate'):
        evaluate_vis(str(ann_file), expected_results())
    with pytest.raises(VISFormatError, match='^valid split: the ground '
                       'truth has no video'):
        evaluate_vis(dict(gt, videos=[]), expected_results(),
                     gt_name='valid split')


def test_results_pair_replaces_the_previous_run(tmp_path):
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    (out_dir / 'results.json').write_text('[]')
    (out_dir / 'submission.zip').write_bytes(b'previous run')
    stale = out_dir / '.submission.zip.a1b2c3d4.tmp'
    stale.write_bytes(b'killed run')
    meta = dict(classes=CLASSES, cat_ids=list(CAT_IDS))
    run_metric(VISMetric(format_only=True, outfile_prefix=str(out_dir)), meta)
    assert sorted(p.name for p in out_dir.iterdir()) == [
        'results.json', 'submission.zip'
    ]
    with zipfile.ZipFile(out_dir / 'submission.zip') as zf:
        assert zf.read('results.json') == (out_dir /
                                           'results.json').read_bytes()
    first = (out_dir / 'submission.zip').read_bytes()
    run_metric(VISMetric(format_only=True, outfile_prefix=str(out_dir)), meta)
    assert (out_dir / 'submission.zip').read_bytes() == first  # same bytes
