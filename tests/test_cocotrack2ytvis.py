"""cocotrack2ytvis: per-frame COCO json with track ids -> YouTube-VIS."""
import copy
import os
import os.path as osp

import numpy as np
import pytest
from format_round_trip import (assert_one_line_error, assert_round_trip,
                               decode, export_ytvis, load, synthetic_split,
                               write_frame, write_json)

from mmvis_clip.datasets.converters.cocotrack2ytvis import main

H, W = 8, 10


def test_round_trip_of_synthetic_data(make_tiny_synthetic, tmp_path,
                                      capsys):
    ann_file, image_root = synthetic_split(make_tiny_synthetic)
    raw = load(ann_file)
    paths = export_ytvis.export(ann_file, 'coco-track',
                                str(tmp_path / 'coco'))
    coco = load(paths['annotations'])
    assert all('track_id' in a['attributes'] for a in coco['annotations'])
    out = str(tmp_path / 'ytvis.json')
    main([
        paths['annotations'], image_root, out, '--class-map',
        paths['class_map'], '--no-progress'
    ])
    assert_round_trip(load(out), raw)
    assert capsys.readouterr().out.strip() == (
        f'{out}: 2 videos, 8 frames, {len(raw["annotations"])} instances, '
        '6 categories')


def test_video_field_and_top_level_track_id(make_tiny_synthetic, tmp_path):
    """Frames grouped by an image field, the track id named by an option
    and not under "attributes"; images listed in shuffled order."""
    ann_file, image_root = synthetic_split(make_tiny_synthetic)
    raw = load(ann_file)
    paths = export_ytvis.export(ann_file, 'coco-track',
                                str(tmp_path / 'coco'))
    coco = load(paths['annotations'])
    video_of = {}
    for video in raw['videos']:
        for name in video['file_names']:
            video_of[name] = f'clip-{video["id"]}'
    for image in coco['images']:
        image['sequence'] = video_of[image['file_name']]
    for ann in coco['annotations']:
        ann['object_id'] = ann.pop('attributes')['track_id']
    coco['images'] = coco['images'][::-1]
    coco_file = write_json(str(tmp_path / 'coco2.json'), coco)
    out = str(tmp_path / 'ytvis.json')
    main([
        coco_file, image_root, out, '--class-map', paths['class_map'],
        '--track-id-field', 'object_id', '--video-field', 'sequence',
        '--no-progress'
    ])
    assert_round_trip(load(out), raw)


CAT = [2, 1, 6, 1, 6, 4, 2, 4]  # rows 1-3, cols 2-5: 12 px
DOG = [0, 5, 3, 5, 3, 7, 0, 7]  # rows 5-6, cols 0-2: 6 px


@pytest.fixture
def cvat(tmp_path):
    """Two frames of video 'walk' (listed out of order); track 0 (cat) in
    both, track 4 (dog) in frame 2 as an uncompressed RLE."""
    root = str(tmp_path)
    for name in ('walk/frame_000001.png', 'walk/frame_000000.png'):
        write_frame(osp.join(root, 'images', name), H, W)
    dog = np.zeros((H, W), bool)
    dog[5:7, 0:3] = True
    coco = dict(
        images=[
            dict(id=7, file_name='walk/frame_000001.png', width=W,
                 height=H),
            dict(id=3, file_name='walk/frame_000000.png', width=W, height=H)
        ],
        categories=[dict(id=1, name='cat'),
                    dict(id=2, name='dog')],
        annotations=[
            dict(
                id=1,
                image_id=3,
                category_id=1,
                segmentation=[CAT],
                iscrowd=0,
                attributes=dict(track_id=0)),
            dict(
                id=2,
                image_id=7,
                category_id=1,
                segmentation=[CAT],
                iscrowd=0,
                attributes=dict(track_id=0)),
            dict(
                id=3,
                image_id=7,
                category_id=2,
                segmentation=export_ytvis.uncompressed_rle(dog),
                iscrowd=0,
                attributes=dict(track_id=4)),
        ])
    write_json(osp.join(root, 'coco.json'), coco)
    write_json(
        osp.join(root, 'classes.json'),
        dict(classes=['dog', 'cat'], source_classes=dict(dog='dog',
                                                         cat='cat')))
    return root


def _argv(root):
    return [
        osp.join(root, 'coco.json'),
        osp.join(root, 'images'),
        osp.join(root, 'out.json'), '--class-map',
        osp.join(root, 'classes.json'), '--no-progress'
    ]


def test_hand_made(cvat):
    main(_argv(cvat))
    got = load(osp.join(cvat, 'out.json'))
    assert got['videos'] == [
        dict(
            id=1,
            file_names=['walk/frame_000000.png', 'walk/frame_000001.png'],
            height=H,
            width=W,
            length=2)
    ]
    cat, dog = got['annotations']  # increasing track id: 0, 4
    assert (cat['category_id'], dog['category_id']) == (2, 1)
    assert (cat['source_id'], dog['source_id']) == (0, 4)
    assert cat['areas'] == [12, 12]
    assert cat['bboxes'] == [[2.0, 1.0, 4.0, 3.0]] * 2
    assert dog['areas'] == [None, 6]
    expected = np.zeros((H, W), bool)
    expected[1:4, 2:6] = True  # the polygon, rasterized as COCO does
    np.testing.assert_array_equal(decode(cat['segmentations'][0]), expected)


def test_track_ids_survive_export_and_import(cvat, tmp_path):
    """Track ids 0 and 4 are kept as source_id, and export_ytvis writes
    them back as attributes.track_id."""
    main(_argv(cvat))
    got = load(osp.join(cvat, 'out.json'))
    paths = export_ytvis.export(
        osp.join(cvat, 'out.json'), 'coco-track', str(tmp_path / 'coco'))
    coco = load(paths['annotations'])
    assert [(a['image_id'], a['attributes']['track_id'])
            for a in coco['annotations']] == [(1, 0), (2, 0), (2, 4)]
    again = str(tmp_path / 'again.json')
    main([
        paths['annotations'],
        osp.join(cvat, 'images'), again, '--class-map',
        osp.join(cvat, 'classes.json'), '--no-progress'
    ])
    assert load(again)['annotations'] == got['annotations']


def _edit(change):

    def mutate(root):
        path = osp.join(root, 'coco.json')
        coco = load(path)
        change(coco)
        write_json(path, coco)

    return mutate


def _set(index, **fields):

    def change(coco):
        coco['annotations'][index].update(copy.deepcopy(fields))

    return _edit(change)


def _remove_frame(root):
    os.remove(osp.join(root, 'images', 'walk', 'frame_000001.png'))


def _ann_where(ann_id, image_id, frame):
    return (rf'coco\.json: image {image_id} \(frame walk/{frame}\.png\): '
            rf'annotation {ann_id}')


BAD = {
    'unknown class':
    (_edit(lambda coco: coco['categories'][1].update(name='wolf')),
     _ann_where(3, 7, 'frame_000001') +
     r": class 'wolf' is not in the class map"),
    'polygon outside its frame':
    (_set(1, segmentation=[[2, 1, 11, 1, 11, 4, 2, 4]]),
     _ann_where(2, 7, 'frame_000001') +
     r': segmentation: polygon 0 has x = 11 outside the frame'),
    'RLE of another size':
    (_set(2, segmentation=dict(size=[H, W + 1], counts=[H * (W + 1)])),
     _ann_where(3, 7, 'frame_000001') +
     r': segmentation: RLE "size" is \[8, 11\] but the video is \[8, 10\]'),
    'one track with two classes':
    (_set(1, category_id=2), _ann_where(2, 7, 'frame_000001') +
     r": instance 0 has class 'dog' here but 'cat' in .*annotation 1"),
    'missing frame file': (_remove_frame,
                           r'coco\.json: image 7 \(frame walk/frame_000001'
                           r'\.png\): frame file .*not found'),
    'recorded size differs':
    (_edit(lambda coco: coco['images'][0].update(width=12)),
     r'coco\.json: image 7 \(frame walk/frame_000001\.png\): recorded width '
     r'12 but the frame file'),
    'no track id': (_set(2, attributes=dict(occluded=False)),
                    _ann_where(3, 7, 'frame_000001') +
                    r": no track id: the annotation has no field 'track_id'"),
    'track id not an integer': (_set(2, attributes=dict(track_id='a')),
                                _ann_where(3, 7, 'frame_000001') +
                                r": track id \"attributes\"\.'track_id' must "
                                r'be an integer'),
    'unknown image id':
    (_set(2, image_id=99),
     r'coco\.json: annotation 3: image_id 99 is not in "images"'),
    'no segmentation': (_set(0, segmentation=[]),
                        _ann_where(1, 3, 'frame_000000') +
                        r': no "segmentation"'),
    'frame without folder':
    (_edit(lambda coco: coco['images'][1].update(file_name='a.png')),
     r"coco\.json: image 3 \(frame a\.png\): file_name 'a\.png' has no "
     r'folder'),
    'track twice in a frame': (_set(
        2, category_id=1, attributes=dict(track_id=0)),
                               _ann_where(3, 7, 'frame_000001') +
                               r': instance 0 is annotated twice in this '
                               r'frame'),
}


@pytest.mark.parametrize('case', list(BAD))
def test_bad_input_gives_one_line_naming_file_and_frame(cvat, case):
    mutate, message = BAD[case]
    mutate(cvat)
    assert_one_line_error(main, _argv(cvat), message)
    assert not osp.exists(osp.join(cvat, 'out.json'))


def test_missing_video_field(cvat):
    assert_one_line_error(main,
                          _argv(cvat) + ['--video-field', 'video'],
                          r'coco\.json: image 7 \(frame walk/frame_000001'
                          r"\.png\): the image has no video field 'video'")
