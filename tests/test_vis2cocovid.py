"""Tests of the raw YouTube-VIS/OVIS -> CocoVID converter."""
import copy
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from mmvis_clip.datasets.converters import (VISFormatError, cocovid_ann_name,
                                            convert_vis_data_root,
                                            convert_vis_to_cocovid)
from mmvis_clip.datasets.converters.vis2cocovid import main
from mmvis_clip.utils.atomic_io import dumps_json_canonical

# A 4 x 6 mask with rows 1-2 and columns 2-4 set: area 6, bbox [2, 1, 3, 2].
# Its uncompressed (column-major) RLE, counted by hand: 9 zeros (columns 0,
# 1 and the top pixel of column 2), then 2 ones / 2 zeros for columns 2-4,
# then 1 + 4 zeros.
BLOCK_RLE_COUNTS = [9, 2, 2, 2, 2, 2, 5]
BLOCK_BBOX = [2.0, 1.0, 3.0, 2.0]


def _block_mask():
    mask = np.zeros((4, 6), dtype=np.uint8)
    mask[1:3, 2:5] = 1
    return mask


def _compressed_block():
    rle = mask_utils.encode(np.asfortranarray(_block_mask()))
    return dict(size=[4, 6], counts=rle['counts'].decode('ascii'))


def _raw():
    """Two videos (ids 11 and 5, in that order), non-contiguous category
    ids 3 and 8, annotation ids 7, 9 and 2."""
    block = _compressed_block()
    polygon = [[2.0, 1.0, 5.0, 1.0, 5.0, 3.0, 2.0, 3.0]]
    return dict(
        info=dict(description='tiny'),
        categories=[
            dict(id=3, name='cat', supercategory='animal'),
            dict(id=8, name='dog', supercategory='animal')
        ],
        videos=[
            dict(
                id=11,
                width=6,
                height=4,
                length=3,
                file_names=['vid_a/0.jpg', 'vid_a/1.jpg', 'vid_a/2.jpg']),
            dict(
                id=5,
                width=6,
                height=4,
                length=2,
                file_names=['vid_b/0.jpg', 'vid_b/1.jpg'])
        ],
        annotations=[
            dict(
                id=7,
                video_id=11,
                category_id=8,
                iscrowd=0,
                segmentations=[block, None, polygon],
                bboxes=[BLOCK_BBOX, None, [2.0, 1.0, 3.0, 2.0]],
                areas=[6, None, 6],
                occlusion=['no_occlusion', None, 'slight_occlusion']),
            # bbox and area missing in frame 1: computed from the mask
            dict(
                id=9,
                video_id=11,
                category_id=3,
                iscrowd=0,
                segmentations=[
                    None,
                    dict(size=[4, 6], counts=BLOCK_RLE_COUNTS), None
                ],
                bboxes=[None, None, None],
                areas=[None, None, None]),
            dict(
                id=2,
                video_id=5,
                category_id=3,
                iscrowd=1,
                segmentations=[block, block],
                bboxes=[BLOCK_BBOX, BLOCK_BBOX],
                areas=[6, 6]),
        ])


def test_images_keep_video_ids_and_frame_order():
    out = convert_vis_to_cocovid(_raw(), show_progress=False)
    assert [(im['id'], im['video_id'], im['frame_id'], im['file_name'])
            for im in out['images']] == [(1, 11, 0, 'vid_a/0.jpg'),
                                         (2, 11, 1, 'vid_a/1.jpg'),
                                         (3, 11, 2, 'vid_a/2.jpg'),
                                         (4, 5, 0, 'vid_b/0.jpg'),
                                         (5, 5, 1, 'vid_b/1.jpg')]
    assert all(im['width'] == 6 and im['height'] == 4 for im in out['images'])
    assert out['videos'] == [
        dict(id=11, name='vid_a', width=6, height=4, length=3),
        dict(id=5, name='vid_b', width=6, height=4, length=2)
    ]
    assert out['categories'] == _raw()['categories']
    assert out['info'] == dict(description='tiny')


def test_annotations_one_per_present_frame():
    raw = _raw()
    out = convert_vis_to_cocovid(raw, show_progress=False)
    anns = out['annotations']
    # absent frames (None) of instances 7 and 9 give no annotation
    assert [(a['id'], a['image_id'], a['instance_id'], a['category_id'])
            for a in anns] == [(1, 1, 7, 8), (2, 2, 9, 3), (3, 3, 7, 8),
                               (4, 4, 2, 3), (5, 5, 2, 3)]
    assert [a['video_id'] for a in anns] == [11, 11, 11, 5, 5]
    # segmentations are kept in their raw format
    assert anns[0]['segmentation'] == raw['annotations'][0]['segmentations'][0]
    assert anns[2]['segmentation'] == raw['annotations'][0]['segmentations'][2]
    assert anns[0]['bbox'] == BLOCK_BBOX and anns[0]['area'] == 6
    assert [a['iscrowd'] for a in anns] == [0, 0, 0, 1, 1]
    # OVIS occlusion labels only where the raw annotation has them
    assert anns[0]['occlusion'] == 'no_occlusion'
    assert anns[2]['occlusion'] == 'slight_occlusion'
    assert 'occlusion' not in anns[1] and 'occlusion' not in anns[3]


def test_missing_bbox_and_area_are_computed_from_the_mask():
    out = convert_vis_to_cocovid(_raw(), show_progress=False)
    ann = out['annotations'][1]
    assert ann['instance_id'] == 9
    assert ann['bbox'] == BLOCK_BBOX
    assert ann['area'] == 6


def test_split_without_annotations_gives_images_only():
    raw = _raw()
    del raw['annotations']
    out = convert_vis_to_cocovid(raw, show_progress=False)
    assert len(out['images']) == 5
    assert out['annotations'] == []


def _break(raw, path, value):
    """Set ``raw[path[0]][path[1]]...`` to ``value``."""
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


@pytest.mark.parametrize('path, value, words', [
    (('annotations', 0, 'segmentations'), [None, None],
     ['video 11', 'annotation 7', "'segmentations'", '2 entries', '3']),
    (('annotations', 2, 'bboxes'), [BLOCK_BBOX],
     ['video 5', 'annotation 2', "'bboxes'"]),
    (('annotations', 0, 'occlusion'), ['no_occlusion'
                                       ], ['video 11', "'occlusion'"]),
    (('videos', 1, 'file_names'), [], ['video 5', "'file_names'", 'empty']),
    (('videos', 0, 'length'), 4, ['video 11', "'length'"]),
    (('annotations', 1, 'video_id'), 99,
     ['video 99', 'annotation 9', "'video_id'"]),
    (('annotations', 2, 'category_id'), 4,
     ['video 5', 'annotation 2', "'category_id'", '4']),
    (('annotations', 1, 'segmentations', 1, 'size'), [4, 7],
     ['video 11', 'annotation 9', 'frame 1', "'segmentations'"]),
    (('annotations', 2, 'id'), 7, ['annotation 7', "'id'", 'duplicated']),
    (('annotations', 2, 'id'), 0, ['annotation 0', "'id'", 'positive']),
])
def test_malformed_raw_json_names_file_video_and_field(tmp_path, path, value,
                                                       words):
    raw_path = osp.join(tmp_path, 'raw_train.json')
    with open(raw_path, 'w') as f:
        json.dump(_break(_raw(), path, value), f)
    with pytest.raises(VISFormatError) as error:
        convert_vis_to_cocovid(raw_path, show_progress=False)
    message = str(error.value)
    assert raw_path in message
    for word in words:
        assert word in message


def test_file_mode_cli_writes_canonical_json(tmp_path):
    raw_path = osp.join(tmp_path, 'raw.json')
    out_path = osp.join(tmp_path, 'out', 'cocovid.json')
    with open(raw_path, 'w') as f:
        json.dump(_raw(), f)
    main(['-i', raw_path, '-o', out_path, '--no-progress'])
    with open(out_path, 'rb') as f:
        content = f.read()
    expected = convert_vis_to_cocovid(_raw(), show_progress=False)
    assert content == dumps_json_canonical(expected)


@pytest.mark.parametrize('version, raw_names, out_names', [
    ('2019', ['train.json', 'valid.json'],
     ['youtube_vis_2019_train.json', 'youtube_vis_2019_valid.json']),
    ('2021', ['train/instances.json', 'test/instances.json'],
     ['youtube_vis_2021_train.json', 'youtube_vis_2021_test.json']),
    ('ovis', ['annotations_valid.json'], ['ovis_valid.json']),
])
def test_data_root_mode_converts_the_splits_present(tmp_path, version,
                                                    raw_names, out_names):
    data_root = osp.join(tmp_path, 'data')
    for name in raw_names:
        raw = _raw()
        if 'train' not in name:
            del raw['annotations']
        path = osp.join(data_root, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(raw, f)
    main(['--data-root', data_root, '--version', version, '--no-progress'])
    written = sorted(os.listdir(osp.join(data_root, 'annotations')))
    assert written == sorted(out_names)
    for name in out_names:
        with open(osp.join(data_root, 'annotations', name)) as f:
            out = json.load(f)
        assert len(out['images']) == 5
        assert len(out['annotations']) == (5 if 'train' in name else 0)


def test_data_root_mode_without_any_split_fails(tmp_path):
    with pytest.raises(FileNotFoundError, match='annotations_train.json'):
        convert_vis_data_root(str(tmp_path), 'ovis')
    with pytest.raises(SystemExit, match='annotations_train.json'):
        main(['--data-root', str(tmp_path), '--version', 'ovis'])


def test_cli_reports_malformed_json_in_one_line(tmp_path):
    raw_path = osp.join(tmp_path, 'raw.json')
    with open(raw_path, 'w') as f:
        json.dump(_break(_raw(), ('videos', 0, 'file_names'), []), f)
    out_path = osp.join(tmp_path, 'out.json')
    with pytest.raises(SystemExit, match='video 11.*file_names'):
        main(['-i', raw_path, '-o', out_path, '--no-progress'])
    assert not osp.exists(out_path)


@pytest.mark.parametrize('argv', [
    ['-i', 'a.json'],
    ['--data-root', 'x'],
    ['-i', 'a.json', '-o', 'b.json', '--data-root', 'x'],
    [],
])
def test_cli_rejects_incomplete_arguments(argv):
    with pytest.raises(SystemExit):
        main(argv)


def test_cocovid_names_follow_mmdet():
    assert cocovid_ann_name('2019', 'train') == 'youtube_vis_2019_train.json'
    assert cocovid_ann_name('ovis', 'test') == 'ovis_test.json'
    with pytest.raises(ValueError, match='version'):
        cocovid_ann_name('2022', 'train')


def test_input_dict_is_not_modified():
    raw = _raw()
    before = copy.deepcopy(raw)
    convert_vis_to_cocovid(raw, show_progress=False)
    assert raw == before


REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(REPO, 'tools', 'dataset_converters', 'vis2cocovid.py')


def _bad_segmentation(kind):
    """A raw json whose annotation 7 (video 11, 'vid_a'), frame 0, has a
    bad segmentation but a bbox and an area, so that nothing needs to
    decode it."""
    raw = _raw()
    if kind == 'rle size':
        segm = dict(size=[6, 4], counts=_compressed_block()['counts'])
    elif kind == 'compressed counts':  # a 4x5 mask called 4x6
        rle = mask_utils.encode(np.asfortranarray(_block_mask()[:, :5]))
        segm = dict(size=[4, 6], counts=rle['counts'].decode('ascii'))
    elif kind == 'uncompressed counts':
        segm = dict(size=[4, 6], counts=BLOCK_RLE_COUNTS[:-1])
    else:  # a polygon point beyond the right border (x = 6 is the border)
        segm = [[2.0, 1.0, 6.5, 1.0, 5.0, 3.0]]
    raw['annotations'][0]['segmentations'][0] = segm
    return raw


@pytest.mark.parametrize('kind, problem', [
    ('rle size', '"size" is [6, 4] but the video is [4, 6]'),
    ('compressed counts', 'cover 20 pixels but the frame has 4x6 = 24'),
    ('uncompressed counts', 'cover 19 pixels'),
    ('polygon', 'x = 6.5 outside the frame'),
])
def test_cli_refuses_a_segmentation_that_does_not_fit_its_video(
        tmp_path, kind, problem):
    raw_path = osp.join(tmp_path, 'raw.json')
    out_path = osp.join(tmp_path, 'out.json')
    with open(raw_path, 'w') as f:
        json.dump(_bad_segmentation(kind), f)
    proc = subprocess.run(
        [sys.executable, TOOL, '-i', raw_path, '-o', out_path,
         '--no-progress'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'error: {raw_path}: video 11 (vid_a), '
                           "annotation 7, frame 0: field 'segmentations'")
    assert problem in last
    assert not osp.exists(out_path)


def test_polygons_may_reach_the_frame_border():
    raw = _raw()
    border = [[0.0, 0.0, 6.0, 0.0, 6.0, 4.0, 0.0, 4.0]]
    raw['annotations'][0]['segmentations'][2] = border
    raw['annotations'][0]['bboxes'][2] = None
    raw['annotations'][0]['areas'][2] = None
    out = convert_vis_to_cocovid(raw, show_progress=False)
    assert out['annotations'][2]['segmentation'] == border
    assert out['annotations'][2]['area'] == 24


@pytest.mark.parametrize('segm, words', [
    ([], ['empty list of polygons']),
    ({}, ['RLE object with "size" and "counts"']),
    (dict(size=[4, 6], counts='#bad'), ['outside the RLE alphabet']),
    ([[1.0, 1.0, 2.0, float('nan'), 3.0, 3.0]], ['not a finite number']),
    ([[1.0, 1.0, 2.0, 2.0]], ['polygon 0', '>= 6']),
])
def test_other_bad_segmentations_name_the_frame(tmp_path, segm, words):
    raw = _raw()
    raw['annotations'][1]['segmentations'][1] = segm
    with pytest.raises(VISFormatError) as error:
        convert_vis_to_cocovid(raw, source='raw.json', show_progress=False)
    message = str(error.value)
    assert message.startswith('raw.json: video 11 (vid_a), annotation 9, '
                              "frame 1: field 'segmentations'"), message
    for word in words:
        assert word in message


def test_cli_refuses_an_output_that_is_the_input(tmp_path):
    raw_path = osp.join(tmp_path, 'raw.json')
    with open(raw_path, 'w') as f:
        json.dump(_raw(), f)
    with open(raw_path, 'rb') as f:
        before = f.read()
    with pytest.raises(SystemExit, match='-o .*is the input json'):
        main(['-i', raw_path, '-o', osp.join(tmp_path, '.', 'raw.json')])
    with open(raw_path, 'rb') as f:
        assert f.read() == before


def test_cli_reports_a_binary_input_in_one_line(tmp_path):
    raw_path = osp.join(tmp_path, 'raw.json')
    with open(raw_path, 'wb') as f:
        f.write(b'\xff\xd8\xff binary')
    with pytest.raises(SystemExit, match='raw.json: not a JSON text file'):
        main(['-i', raw_path, '-o', osp.join(tmp_path, 'out.json')])
    with pytest.raises(SystemExit, match='Is a directory'):
        main(['-i', str(tmp_path), '-o', osp.join(tmp_path, 'out.json')])
