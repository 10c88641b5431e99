"""split_ytvis: train / held-out split and subset of a YouTube-VIS json."""
import json
import os.path as osp
from collections import Counter

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from mmvis_clip.datasets.converters.split_ytvis import (main, split_video_ids,
                                                        split_ytvis)

H, W = 4, 5


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[H, W], counts=rle['counts'].decode('ascii'))


def _ytvis(video_classes, extra=None):
    """A YouTube-VIS json with one 2-frame video per entry of
    ``video_classes`` (category ids of its instances)."""
    mask = np.zeros((H, W), dtype=bool)
    mask[1:3, 1:4] = True
    videos, anns = [], []
    for index, cats in enumerate(video_classes):
        video_id = 10 * (index + 1)  # ids that are not positions
        videos.append(
            dict(
                id=video_id,
                file_names=[f'v{video_id}/0.jpg', f'v{video_id}/1.jpg'],
                height=H,
                width=W,
                length=2,
                extra_field=f'kept {video_id}'))
        for cat in cats:
            anns.append(
                dict(
                    id=len(anns) + 1,
                    video_id=video_id,
                    category_id=cat,
                    iscrowd=0,
                    segmentations=[_rle(mask), None],
                    bboxes=[[1.0, 1.0, 3.0, 2.0], None],
                    areas=[6, None],
                    note=f'ann {len(anns) + 1}'))
    ytvis = dict(
        info=dict(description='hand-made'),
        licenses=[dict(id=1, name='l')],
        categories=[
            dict(id=i, name=name, supercategory='s')
            for i, name in enumerate(['a', 'b', 'c', 'd'], 1)
        ],
        videos=videos,
        annotations=anns)
    if extra:
        ytvis.update(extra)
    return ytvis


def _write(tmp_path, ytvis, name='in.json'):
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        json.dump(ytvis, f)
    return path


def _side_classes(ytvis, video_ids):
    """Category id -> number of the videos ``video_ids`` that have it."""
    keep = set(video_ids)
    return Counter(c for v in ytvis['videos'] if v['id'] in keep for c in {
        a['category_id']
        for a in ytvis['annotations'] if a['video_id'] == v['id']
    })


# 8 videos: category 1 in 2 videos, 2 in 2, 3 alone in 4 videos; held
# out 4: each stratum (rarest category 1, 2, 3) is split in half.
STRATA = [[1], [1], [2, 3], [2, 3], [3], [3], [3], [3]]


@pytest.mark.parametrize('seed', range(6))
def test_stratified_split_is_known(tmp_path, seed):
    ytvis = _ytvis(STRATA)
    train, held = split_video_ids(ytvis, 4, seed)
    assert len(held) == 4 and len(train) == 4
    for side in (train, held):
        # stratum 1: 1 of 2; stratum 2: 1 of 2; stratum 3: 2 of 4
        assert _side_classes(ytvis, side) == {1: 1, 2: 1, 3: 3}


def test_repair_puts_every_class_on_both_sides(tmp_path):
    # Category 4 is in 2 videos whose strata (rarest categories 1 and 2)
    # are split independently: without the repair, both land on one side
    # for about half of the seeds.
    classes = [[1, 4], [1], [2, 4], [2], [3], [3], [3], [3]]
    ytvis = _ytvis(classes)
    for seed in range(20):
        train, held = split_video_ids(ytvis, 4, seed)
        assert len(held) == 4
        for side in (train, held):
            counts = _side_classes(ytvis, side)
            assert all(counts[c] >= 1 for c in (1, 2, 3, 4)), (seed, counts)
            assert counts[1] == 1 and counts[2] == 1


def test_class_in_one_video_stays_on_one_side(tmp_path):
    ytvis = _ytvis([[1], [2], [2], [3], [3], [3]])
    train, held = split_video_ids(ytvis, 2, 0)
    counts = [_side_classes(ytvis, s) for s in (train, held)]
    assert counts[0][1] + counts[1][1] == 1
    assert counts[0][2] == counts[1][2] == 1


def test_deterministic_disjoint_complete_and_unchanged(tmp_path):
    classes = [[1 + i % 3, 1 + (i * 7) % 4] for i in range(30)] + [[]] * 3
    ytvis = _ytvis(classes, extra=dict(custom=[1, 2]))
    path = _write(tmp_path, ytvis)
    first = split_ytvis(path, seed=3, held_out_fraction=0.3)
    again = split_ytvis(path, seed=3, held_out_fraction=0.3)
    other = split_ytvis(path, seed=4, held_out_fraction=0.3)
    assert first == again
    ids = {
        side: [v['id'] for v in part['videos']]
        for side, part in first.items()
    }
    assert ids != {
        side: [v['id'] for v in part['videos']]
        for side, part in other.items()
    }
    assert len(ids['held-out']) == round(0.3 * 33) == 10
    assert not set(ids['train']) & set(ids['held-out'])
    assert sorted(ids['train'] + ids['held-out']) == sorted(
        v['id'] for v in ytvis['videos'])
    by_id = {v['id']: v for v in ytvis['videos']}
    for part in first.values():
        for key in ('info', 'licenses', 'categories', 'custom'):
            assert part[key] == ytvis[key]
        # kept videos in input order, every field unchanged
        order = [v['id'] for v in ytvis['videos']]
        part_ids = [v['id'] for v in part['videos']]
        assert part_ids == sorted(part_ids, key=order.index)
        assert all(v == by_id[v['id']] for v in part['videos'])
    # annotations follow their video, unchanged and all of them
    for side, part in first.items():
        assert part['annotations'] == [
            a for a in ytvis['annotations'] if a['video_id'] in ids[side]
        ]
    assert len(first['train']['annotations']) + len(
        first['held-out']['annotations']) == len(ytvis['annotations'])


def test_subset_then_split(tmp_path):
    ytvis = _ytvis(STRATA * 2)
    path = _write(tmp_path, ytvis)
    subset = split_ytvis(path, seed=1, subset=8)['subset']
    assert len(subset['videos']) == 8
    # the subset is stratified too: half of each stratum
    assert _side_classes(subset, [v['id'] for v in subset['videos']]) == {
        1: 2,
        2: 2,
        3: 6
    }
    parts = split_ytvis(path, seed=1, subset=8, num_held_out=4)
    assert sorted(v['id'] for p in parts.values() for v in p['videos']) == \
        sorted(v['id'] for v in subset['videos'])


def test_cli_writes_outputs_and_prints_table(tmp_path, capsys):
    ytvis = _ytvis(STRATA)
    path = _write(tmp_path, ytvis)
    train_out = str(tmp_path / 'out' / 'train.json')
    held_out = str(tmp_path / 'out' / 'held.json')
    main([
        path, '--num-held-out', '4', '--train-out', train_out,
        '--held-out-out', held_out, '--seed', '2'
    ])
    parts = split_ytvis(path, seed=2, num_held_out=4)
    with open(train_out) as f:
        assert json.load(f) == parts['train']
    with open(held_out) as f:
        assert json.load(f) == parts['held-out']
    out = capsys.readouterr().out
    lines = {line.split('|')[1].strip(): line for line in out.splitlines()
             if line.startswith('|')}
    # category | train videos | train instances | held-out videos | ...
    cells = [c.strip() for c in lines['c'].split('|')[2:-1]]
    assert cells == ['3', '3', '3', '3']
    cells = [c.strip() for c in lines['total'].split('|')[2:-1]]
    assert cells == ['4', '5', '4', '5']
    assert f'{held_out}: 4 videos, 5 instances (held-out)' in out


def _run_error(args, capsys):
    with pytest.raises(SystemExit) as err:
        main(args)
    message = str(err.value)
    assert message.startswith('error: ') and '\n' not in message
    assert 'Traceback' not in capsys.readouterr().err
    return message


def test_errors_are_one_line(tmp_path, capsys):
    path = _write(tmp_path, _ytvis(STRATA))
    outs = ['--train-out', str(tmp_path / 't.json'), '--held-out-out',
            str(tmp_path / 'h.json')]
    message = _run_error([path, '--num-held-out', '8'] + outs, capsys)
    assert path in message and '--num-held-out 8' in message \
        and 'json has 8' in message
    message = _run_error([path, '--held-out-fraction', '0.01'] + outs,
                         capsys)
    assert '--held-out-fraction 0.01 (0 of 8 videos)' in message
    message = _run_error([path, '--held-out-fraction', '1.5'] + outs,
                         capsys)
    assert '--held-out-fraction must be in (0, 1)' in message
    message = _run_error([path, '--subset', '9', '--out',
                          str(tmp_path / 's.json')], capsys)
    assert path in message and '--subset 9' in message
    # refuses to overwrite its input
    message = _run_error([
        path, '--num-held-out', '2', '--train-out', path, '--held-out-out',
        str(tmp_path / 'h.json')
    ], capsys)
    assert '--train-out' in message and 'refusing to overwrite' in message
    assert not osp.exists(tmp_path / 'h.json')


@pytest.mark.parametrize('content, says', [
    (dict(videos=[], annotations=[]), "field 'categories' is missing"),
    ([1, 2], 'the top level is a list'),
    (_ytvis(STRATA, extra=dict(annotations=[])), '"annotations" is empty'),
    (dict(_ytvis(STRATA), videos=[dict(id=1)]),
     "video 1: field 'file_names' is missing"),
])
def test_not_youtube_vis_names_file_and_field(tmp_path, capsys, content,
                                              says):
    path = _write(tmp_path, content)
    message = _run_error([
        path, '--num-held-out', '1', '--train-out',
        str(tmp_path / 't.json'), '--held-out-out',
        str(tmp_path / 'h.json')
    ], capsys)
    assert path in message and says in message, message


def test_malformed_segmentation_names_video_and_frame(tmp_path, capsys):
    ytvis = _ytvis(STRATA)
    ytvis['annotations'][2]['segmentations'][0]['size'] = [H + 1, W]
    path = _write(tmp_path, ytvis)
    message = _run_error(
        [path, '--subset', '2', '--out',
         str(tmp_path / 's.json')], capsys)
    assert path in message and 'video 30' in message \
        and 'annotation 3' in message and 'frame 0' in message
