"""frames2ytvis: frame folders + instance-id PNGs -> YouTube-VIS json."""
import json
import os
import os.path as osp
import re
import shutil

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from PIL import Image

from mmvis_clip.datasets.converters.frames2ytvis import (
    convert_frames_to_ytvis, main, natural_sort_key)
from mmvis_clip.datasets.converters.vis2cocovid import convert_vis_to_cocovid
from mmvis_clip.datasets.synthetic import make_synthetic_vis

H, W = 8, 10


def _decode(rle):
    return mask_utils.decode(
        dict(size=rle['size'], counts=rle['counts'].encode())).astype(bool)


def _palette_png(ids, path):
    """Palette PNG whose index v is drawn in a colour unrelated to v."""
    image = Image.fromarray(ids.astype(np.uint8), mode='P')
    palette = [0, 0, 0] + [(37 * i) % 256 for i in range(3, 768)]
    image.putpalette(palette)
    image.save(path)


def _write_image(path, height=H, width=W, **save_kwargs):
    os.makedirs(osp.dirname(path), exist_ok=True)
    pixels = np.full((height, width, 3), 120, dtype=np.uint8)
    Image.fromarray(pixels).save(path, **save_kwargs)


def _write_mask(path, ids, mode='L'):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if mode == 'P':
        _palette_png(ids, path)
    else:
        Image.fromarray(ids.astype(np.uint8), mode=mode).save(path)


def _write_class_map(root, class_map):
    path = osp.join(root, 'classes.json')
    with open(path, 'w') as f:
        json.dump(class_map, f)
    return path


# Hand-made split: "cat_video" has frames 1, 2, 10 (natural order); frame 2
# has no mask PNG; instance 1 (cat) is in frame 1 only, instance 2 (dog)
# in frames 1 and 10 (a palette PNG). "unlabelled" has no Annotations.
CAT_1 = (slice(1, 4), slice(2, 6))  # rows 1-3, cols 2-5: 12 px
DOG_1 = (slice(5, 7), slice(0, 3))  # rows 5-6, cols 0-2: 6 px
DOG_10 = (slice(0, 8), slice(9, 10))  # column 9: 8 px


@pytest.fixture
def hand_root(tmp_path):
    root = str(tmp_path / 'split')
    for frame in ('10.jpg', '2.jpg', '1.jpg'):
        _write_image(osp.join(root, 'JPEGImages', 'cat_video', frame))
    _write_image(osp.join(root, 'JPEGImages', 'unlabelled', '0001.png'))
    ids = np.zeros((H, W), dtype=np.uint8)
    ids[CAT_1] = 1
    ids[DOG_1] = 2
    _write_mask(osp.join(root, 'Annotations', 'cat_video', '1.png'), ids)
    ids = np.zeros((H, W), dtype=np.uint8)
    ids[DOG_10] = 2
    _write_mask(
        osp.join(root, 'Annotations', 'cat_video', '10.png'), ids, mode='P')
    _write_class_map(
        root,
        dict(
            classes=['cat', dict(name='dog', supercategory='animal')],
            instances=dict(cat_video={
                '1': 'cat',
                '2': 'dog'
            })))
    return root


def test_natural_sort_key():
    names = ['10.jpg', 'b1.jpg', '2.jpg', 'a10.jpg', '1.jpg', 'A9.jpg']
    assert sorted(names, key=natural_sort_key) == [
        '1.jpg', '2.jpg', '10.jpg', 'A9.jpg', 'a10.jpg', 'b1.jpg'
    ]


def test_hand_made_split(hand_root, capsys):
    out = osp.join(hand_root, 'out', 'ytvis.json')
    main([hand_root, out, '--no-progress'])  # class map: ROOT/classes.json
    assert capsys.readouterr().out.strip() == (
        f'{out}: 2 videos, 4 frames, 2 instances, 2 categories')
    with open(out) as f:
        ytvis = json.load(f)
    assert ytvis['categories'] == [
        dict(id=1, name='cat'),
        dict(id=2, name='dog', supercategory='animal')
    ]
    assert ytvis['videos'] == [
        dict(
            id=1,
            file_names=[
                'cat_video/1.jpg', 'cat_video/2.jpg', 'cat_video/10.jpg'
            ],
            height=H,
            width=W,
            length=3),
        dict(
            id=2,
            file_names=['unlabelled/0001.png'],
            height=H,
            width=W,
            length=1)
    ]
    cat, dog = ytvis['annotations']
    assert (cat['id'], cat['video_id'], cat['category_id']) == (1, 1, 1)
    assert (dog['id'], dog['video_id'], dog['category_id']) == (2, 1, 2)
    assert (cat['height'], cat['width'], cat['iscrowd']) == (H, W, 0)
    expected = np.zeros((H, W), dtype=bool)
    expected[CAT_1] = True
    assert cat['segmentations'][1:] == [None, None]
    np.testing.assert_array_equal(_decode(cat['segmentations'][0]), expected)
    assert cat['bboxes'] == [[2.0, 1.0, 4.0, 3.0], None, None]
    assert cat['areas'] == [12, None, None]
    assert dog['segmentations'][1] is None  # frame 2 has no mask PNG
    expected = np.zeros((H, W), dtype=bool)
    expected[DOG_10] = True  # palette PNG read as raw indices
    np.testing.assert_array_equal(_decode(dog['segmentations'][2]), expected)
    assert dog['bboxes'] == [[0.0, 5.0, 3.0, 2.0], None, [9.0, 0.0, 1.0, 8.0]]
    assert dog['areas'] == [6, None, 8]
    # the rest of the package reads it
    cocovid = convert_vis_to_cocovid(ytvis, show_progress=False)
    assert len(cocovid['images']) == 4 and len(cocovid['annotations']) == 3


def test_16_bit_masks_hold_more_than_255_instances(hand_root):
    ids = np.zeros((H, W), dtype=np.uint16)
    ids[CAT_1] = 300
    ids[DOG_1] = 2
    Image.fromarray(ids).save(
        osp.join(hand_root, 'Annotations', 'cat_video', '1.png'))
    class_map = _write_class_map(
        hand_root,
        dict(
            classes=['cat', 'dog'],
            instances=dict(cat_video={
                '2': 'dog',
                '300': 'cat'
            })))
    ytvis = convert_frames_to_ytvis(hand_root, class_map, False)
    # ids in increasing mask value: 2 (dog), then 300 (cat)
    dog, cat = ytvis['annotations']
    assert (dog['category_id'], cat['category_id']) == (2, 1)
    assert (dog['source_id'], cat['source_id']) == (2, 300)  # mask values
    assert cat['areas'] == [12, None, None]
    assert dog['areas'] == [6, None, 8]


def test_unlabelled_split_without_annotations_folder(hand_root, tmp_path):
    shutil.rmtree(osp.join(hand_root, 'Annotations'))
    class_map = _write_class_map(str(tmp_path), dict(classes=['cat', 'dog']))
    ytvis = convert_frames_to_ytvis(hand_root, class_map, False)
    assert [v['length'] for v in ytvis['videos']] == [3, 1]
    assert ytvis['annotations'] == []


@pytest.fixture(scope='module')
def synthetic_split(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic') / 'data')
    paths = make_synthetic_vis(
        out,
        num_videos=2,
        num_frames=4,
        size=(64, 96),
        seed=3,
        show_progress=False)
    with open(paths['train_raw']) as f:
        raw = json.load(f)
    return osp.join(out, 'train'), raw


def test_round_trip_reproduces_the_generator_json(synthetic_split,
                                                  tmp_path):
    root, raw = synthetic_split
    names = {c['id']: c['name'] for c in raw['categories']}
    instances = {}
    skipped_frames = 0
    for index, video in enumerate(raw['videos']):
        name = osp.dirname(video['file_names'][0])
        anns = [a for a in raw['annotations'] if a['video_id'] == video['id']]
        instances[name] = {
            str(k + 1): names[a['category_id']]
            for k, a in enumerate(anns)
        }
        for t, file_name in enumerate(video['file_names']):
            ids = np.zeros((video['height'], video['width']), dtype=np.uint8)
            for k, ann in enumerate(anns):
                if ann['segmentations'][t] is not None:
                    ids[_decode(ann['segmentations'][t])] = k + 1
            if not ids.any():
                skipped_frames += 1  # allowed: no instance in this frame
                continue
            stem = osp.splitext(osp.basename(file_name))[0]
            _write_mask(
                osp.join(str(tmp_path), 'Annotations', name, stem + '.png'),
                ids,
                mode='P' if index % 2 else 'L')
    os.symlink(osp.join(root, 'JPEGImages'), tmp_path / 'JPEGImages')
    class_map = _write_class_map(
        str(tmp_path),
        dict(
            classes=[
                dict(name=c['name'], supercategory=c['supercategory'])
                for c in raw['categories']
            ],
            instances=instances))
    out = str(tmp_path / 'ytvis.json')
    main([str(tmp_path), out, '--class-map', class_map, '--no-progress'])
    with open(out) as f:
        ytvis = json.load(f)

    assert ytvis['categories'] == raw['categories']
    assert ytvis['videos'] == raw['videos']
    assert len(ytvis['annotations']) == len(raw['annotations'])
    # the mask value k + 1 of each video's k-th instance is its source_id
    source_ids = [
        k + 1 for video in raw['videos'] for k in range(
            sum(a['video_id'] == video['id'] for a in raw['annotations']))
    ]
    assert [a['source_id'] for a in ytvis['annotations']] == source_ids
    for got, want in zip(ytvis['annotations'], raw['annotations']):
        got = {key: v for key, v in got.items() if key != 'source_id'}
        assert (got['id'], got['video_id'],
                got['category_id']) == (want['id'], want['video_id'],
                                        want['category_id'])
        for segm, want_segm in zip(got['segmentations'],
                                   want['segmentations']):
            assert (segm is None) == (want_segm is None)
            if segm is not None:
                np.testing.assert_array_equal(
                    _decode(segm), _decode(want_segm))
        assert got['bboxes'] == want['bboxes']
        assert got['areas'] == want['areas']
        assert got == want  # every other field, RLE strings included


def _remove(*parts):

    def mutate(root):
        os.remove(osp.join(root, *parts))

    return mutate


def _mask(frame, ids_at, shape=(H, W), mode='L'):

    def mutate(root):
        ids = np.zeros(shape, dtype=np.uint8)
        for value, region in ids_at:
            ids[region] = value
        path = osp.join(root, 'Annotations', 'cat_video', frame + '.png')
        if mode == 'RGB':
            Image.fromarray(np.stack([ids] * 3, -1)).save(path)
        else:
            _write_mask(path, ids, mode)

    return mutate


def _class_map(**changes):

    def mutate(root):
        class_map = dict(
            classes=['cat', 'dog'],
            instances=dict(cat_video={
                '1': 'cat',
                '2': 'dog'
            }))
        class_map.update(changes)
        _write_class_map(root, class_map)

    return mutate


def _no_jpeg_images(root):
    os.rename(osp.join(root, 'JPEGImages'), osp.join(root, 'frames'))


def _empty_video(root):
    os.makedirs(osp.join(root, 'JPEGImages', 'empty'))


def _stray_file(root):
    with open(osp.join(root, 'JPEGImages', 'cat_video', 'notes.txt'),
              'w') as f:
        f.write('x')


def _rotated_frame(root):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    _write_image(
        osp.join(root, 'JPEGImages', 'cat_video', '2.jpg'), exif=exif)


def _frame_size(root):
    _write_image(
        osp.join(root, 'JPEGImages', 'cat_video', '10.jpg'), height=9)


def _orphan_mask(root):
    _mask('11', [(2, DOG_10)])(root)


def _video_without_masks_in_map(root):
    _class_map(
        instances=dict(
            cat_video={
                '1': 'cat',
                '2': 'dog'
            }, unlabelled={'1': 'cat'}))(root)


BAD_INPUTS = {
    'missing JPEGImages': (_no_jpeg_images, r'JPEGImages: folder not found'),
    'empty frame folder': (_empty_video,
                           r"empty: video 'empty' has no frame"),
    'stray file': (_stray_file, r'notes\.txt: unexpected file among the '
                   r'frames'),
    'mask size': (_mask('1', [(1, CAT_1)], shape=(H + 1, W)),
                  r"1\.png: mask is 9x10 \(HxW\) but the frames of video "
                  r"'cat_video' are 8x10"),
    'mask id not in class map': (_mask('10', [(2, DOG_10), (3, CAT_1)]),
                                 r"10\.png: mask value 3 of video "
                                 r"'cat_video' is not in the class map"),
    'RGB mask': (_mask('10', [(2, DOG_10)], mode='RGB'),
                 r"10\.png: mask PNG has mode 'RGB'"),
    'mask without frame': (_orphan_mask,
                           r'11\.png: mask PNG without a frame'),
    'unknown class': (_class_map(instances=dict(cat_video={
        '1': 'cat',
        '2': 'wolf'
    })), r"classes\.json: \"instances\" of video 'cat_video': instance 2 "
                      r"has class 'wolf', which is not in \"classes\""),
    'class map id in no mask': (_class_map(instances=dict(cat_video={
        '1': 'cat',
        '2': 'dog',
        '5': 'cat'
    })), r"classes\.json: instance 5 of video 'cat_video' is in the class "
                                r'map but in none of the masks'),
    'class map unknown video': (_class_map(instances=dict(dog_video={})),
                                r"classes\.json: \"instances\" lists video "
                                r"'dog_video', which has no frame folder"),
    'class map video without masks': (_video_without_masks_in_map,
                                      r"lists instances of video "
                                      r"'unlabelled' but it has no mask "
                                      r'folder'),
    'class map key': (_class_map(labels={}),
                      r"classes\.json: unknown top-level key\(s\) "
                      r"\['labels'\]"),
    'frame sizes differ': (_frame_size,
                           r"10\.jpg: frame is 9x10 \(HxW\) but the first "
                           r"frame of video 'cat_video' is 8x10"),
    'EXIF rotation': (_rotated_frame,
                      r'2\.jpg: the frame has EXIF orientation 6'),
    'missing class map': (_remove('classes.json'),
                          r'classes\.json: class map not found'),
}


@pytest.mark.parametrize('case', list(BAD_INPUTS))
def test_bad_input_gives_one_clear_error(hand_root, case):
    mutate, message = BAD_INPUTS[case]
    mutate(hand_root)
    out = osp.join(hand_root, 'out.json')
    with pytest.raises(SystemExit) as info:
        main([hand_root, out, '--no-progress'])
    text = str(info.value)
    assert text.startswith('error: ')
    assert re.search(message, text), text
    assert len(text.splitlines()) == 1
    assert not osp.exists(out)
