"""mots2ytvis: MOTS instances_txt / instances PNGs -> YouTube-VIS json."""
import os
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from format_round_trip import (assert_evaluates_to_itself,
                               assert_one_line_error, assert_round_trip,
                               decode, export_ytvis, load, synthetic_split,
                               write_frame, write_json)
from PIL import Image

from mmvis_clip.datasets.converters.mots2ytvis import main

H, W = 8, 10


@pytest.mark.parametrize('fmt', ['mots-txt', 'mots-png'])
def test_round_trip_of_synthetic_data(make_tiny_synthetic, tmp_path, fmt,
                                      capsys):
    ann_file, image_root = synthetic_split(make_tiny_synthetic)
    raw = load(ann_file)
    paths = export_ytvis.export(ann_file, fmt, str(tmp_path / 'mots'))
    out = str(tmp_path / 'ytvis.json')
    main([
        image_root, paths['annotations'], out, '--class-map',
        paths['class_map'], '--no-progress'
    ])
    got = load(out)
    # per sequence in increasing obj_id = class * 1000 + k
    assert_round_trip(
        got,
        raw,
        order=lambda k, ann: export_ytvis.mots_obj_id(ann['category_id'], k))
    if fmt == 'mots-txt':  # the RLE strings pass through unchanged
        for ann in got['annotations']:
            assert all(
                segm is None or isinstance(segm['counts'], str)
                for segm in ann['segmentations'])
    assert capsys.readouterr().out.strip() == (
        f'{out}: 2 videos, 8 frames, {len(raw["annotations"])} instances, '
        '6 categories')


def _rle(region, height=H, width=W):
    mask = np.zeros((height, width), np.uint8)
    mask[region] = 1
    return mask_utils.encode(np.asfortranarray(mask))['counts'].decode()


CAR = (slice(1, 4), slice(2, 6))  # 12 px
PERSON = (slice(5, 7), slice(0, 3))  # 6 px
IGNORE = (slice(0, 2), slice(8, 10))  # 4 px


@pytest.fixture
def kitti(tmp_path):
    """KITTI-like sequence '0001' (frames 000000, 000001) and an
    unannotated '0002': car 1001 in both frames, pedestrian 2003 in frame
    1, an ignore region in frame 0."""
    root = str(tmp_path)
    for frame in ('000000.png', '000001.png'):
        write_frame(osp.join(root, 'image_02', '0001', frame), H, W)
    write_frame(osp.join(root, 'image_02', '0002', '000000.png'), H, W)
    lines = [
        f'0 1001 1 {H} {W} {_rle(CAR)}',
        f'0 10000 10 {H} {W} {_rle(IGNORE)}',
        f'1 1001 1 {H} {W} {_rle(CAR)}',
        f'1 2003 2 {H} {W} {_rle(PERSON)}',
    ]
    os.makedirs(osp.join(root, 'instances_txt'))
    _write_txt(root, lines)
    write_json(
        osp.join(root, 'classes.json'),
        dict(
            classes=['person', 'car'],
            source_classes={
                '1': 'car',
                '2': 'person'
            }))
    return root


def _write_txt(root, lines):
    with open(osp.join(root, 'instances_txt', '0001.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _argv(root, ann='instances_txt'):
    return [
        osp.join(root, 'image_02'),
        osp.join(root, ann),
        osp.join(root, 'out.json'), '--class-map',
        osp.join(root, 'classes.json'), '--no-progress'
    ]


def test_hand_made_txt(kitti, capsys):
    main(_argv(kitti))
    out = osp.join(kitti, 'out.json')
    assert capsys.readouterr().out.strip() == (
        f'{out}: 1 videos, 2 frames, 2 instances, 2 categories; ignore '
        'regions (class 10): 1 masks, not converted; 1 frame folders in '
        f'{osp.join(kitti, "image_02")} have no annotations, not converted')
    got = load(out)
    assert got['categories'] == [dict(id=1, name='person'),
                                 dict(id=2, name='car')]
    assert got['videos'] == [
        dict(
            id=1,
            file_names=['0001/000000.png', '0001/000001.png'],
            height=H,
            width=W,
            length=2)
    ]
    car, person = got['annotations']  # increasing obj_id: 1001, 2003
    assert (car['source_id'], person['source_id']) == (1001, 2003)
    assert (car['id'], car['category_id']) == (1, 2)
    assert (person['id'], person['category_id']) == (2, 1)
    assert car['areas'] == [12, 12] and car['bboxes'][0] == [2, 1, 4, 3]
    assert person['segmentations'][0] is None
    assert person['areas'] == [None, 6]
    expected = np.zeros((H, W), bool)
    expected[PERSON] = True
    np.testing.assert_array_equal(
        decode(person['segmentations'][1]), expected)


def _png(root, frame, values, shape=(H, W), mode=None):
    ids = np.zeros(shape, np.uint16)
    for value, region in values:
        ids[region] = value
    path = osp.join(root, 'instances', '0001', frame + '.png')
    os.makedirs(osp.dirname(path), exist_ok=True)
    if mode == 'RGB':
        Image.fromarray(np.stack([ids.astype(np.uint8)] * 3, -1)).save(path)
    else:
        Image.fromarray(ids).save(path)


def test_hand_made_pngs_equal_txt(kitti):
    main(_argv(kitti))
    from_txt = load(osp.join(kitti, 'out.json'))
    _png(kitti, '000000', [(1001, CAR), (10000, IGNORE)])
    _png(kitti, '000001', [(1001, CAR), (2003, PERSON)])
    os.remove(osp.join(kitti, 'out.json'))
    main(_argv(kitti, 'instances'))
    from_png = load(osp.join(kitti, 'out.json'))
    assert from_png['annotations'] == from_txt['annotations']
    assert from_png['videos'] == from_txt['videos']


def _line(number, text):
    """Replace line ``number`` (1-based) of the fixture's txt."""

    def mutate(root):
        path = osp.join(root, 'instances_txt', '0001.txt')
        with open(path) as f:
            lines = f.read().splitlines()
        lines[number - 1] = text
        _write_txt(root, lines)

    return mutate


TXT = osp.join('instances_txt', '0001.txt')
BAD_TXT = {
    'unknown class':
    (_line(4, f'1 3001 3 {H} {W} {_rle(PERSON)}'),
     rf"{TXT}:4: frame 1 \(000001\.png\): class '3' is not in the class "
     r'map'),
    'mask outside its frame':
    (_line(3, f'1 1001 1 {H + 1} {W} {_rle(CAR, H + 1)}'),
     rf'{TXT}:3: frame 1 \(000001\.png\): the mask is 9x10 \(height x '
     r'width\) but the frame is 8x10'),
    'obj_id of another class':
    (_line(4, f'1 2003 1 {H} {W} {_rle(PERSON)}'),
     rf'{TXT}:4: frame 1 \(000001\.png\): obj_id 2003 is not class_id \* '
     r'1000 \+ instance_id for class_id 1'),
    'missing frame file':
    (_line(4, f'7 2003 2 {H} {W} {_rle(PERSON)}'),
     rf'{TXT}:4: frame 7 has no frame file in .*image_02/0001'),
    'too few fields': (_line(2, '0 10000 10 8 10'),
                       rf'{TXT}:2: expected 6 fields separated by single '
                       r'spaces'),
    'non-integer field': (_line(1, f'0 1001 car {H} {W} {_rle(CAR)}'),
                          rf"{TXT}:1: class_id must be a non-negative "
                          r"integer, got 'car'"),
    'truncated RLE': (_line(1, f'0 1001 1 {H} {W} {_rle(CAR)[:-2]}'),
                      rf'{TXT}:1: frame 0 \(000000\.png\): rle: '
                      r'RLE "counts" cover 44 pixels but the frame has 8x10'),
    'object twice in a frame': (_line(2, f'0 1001 1 {H} {W} {_rle(PERSON)}'),
                                rf'{TXT}:2: frame 0 \(000000\.png\): instance '
                                r'1001 is annotated twice in this frame'),
}


@pytest.mark.parametrize('case', list(BAD_TXT))
def test_bad_txt_gives_one_line_naming_file_line_and_frame(kitti, case):
    mutate, message = BAD_TXT[case]
    mutate(kitti)
    assert_one_line_error(main, _argv(kitti), message)
    assert not osp.exists(osp.join(kitti, 'out.json'))


PNG = osp.join('instances', '0001')
BAD_PNG = {
    'unknown class': (lambda root: _png(root, '000001', [(3001, PERSON)]),
                      rf"{PNG}/000001\.png: frame 1 \(000001\.png\): pixel "
                      r"value 3001: class '3' is not in the class map"),
    'mask outside its frame':
    (lambda root: _png(root, '000001', [(1001, CAR)], (H, W + 1)),
     rf'{PNG}/000001\.png: frame 1 \(000001\.png\): the PNG is 8x11'),
    'missing frame file': (lambda root: _png(root, '000005', [(1001, CAR)]),
                           rf'{PNG}/000005\.png: frame 5 has no frame file'),
    'value without class': (lambda root: _png(root, '000000', [(7, CAR)]),
                            rf'{PNG}/000000\.png: frame 0 \(000000\.png\): '
                            r'pixel value 7: obj_id 7 is not class_id'),
    'RGB PNG': (lambda root: _png(root, '000000', [(1, CAR)], mode='RGB'),
                rf"{PNG}/000000\.png: mask PNG has mode 'RGB'"),
    'PNG not named by frame number':
    (lambda root: _png(root, 'first', [(1001, CAR)]),
     rf"{PNG}/first\.png: MOTS frames and PNGs are named by their frame "
     r"number"),
}


@pytest.mark.parametrize('case', list(BAD_PNG))
def test_bad_png_gives_one_line_naming_file_and_frame(kitti, case):
    _png(kitti, '000000', [(1001, CAR)])
    mutate, message = BAD_PNG[case]
    mutate(kitti)
    assert_one_line_error(main, _argv(kitti, 'instances'), message)
    assert not osp.exists(osp.join(kitti, 'out.json'))


def test_both_layouts_in_one_folder_is_an_error(kitti):
    os.makedirs(osp.join(kitti, 'instances_txt', '0002'))
    assert_one_line_error(main, _argv(kitti),
                          r'instances_txt: holds both \.txt files')


def test_obj_ids_survive_import_and_export(kitti, tmp_path):
    """obj_id 1255 (car 255) is kept as source_id, and export_ytvis writes
    it back: the class map lists person first (category 1) and car
    second, so the MOTS class of each category comes from the source ids
    (car 1, person 2), not from the category ids."""
    _line(1, f'0 1255 1 {H} {W} {_rle(CAR)}')(kitti)
    _line(3, f'1 1255 1 {H} {W} {_rle(CAR)}')(kitti)
    main(_argv(kitti))
    out = osp.join(kitti, 'out.json')
    got = load(out)
    car, person = got['annotations']  # increasing obj_id: 1255, 2003
    assert (car['source_id'], person['source_id']) == (1255, 2003)
    assert (car['category_id'], person['category_id']) == (2, 1)
    assert_evaluates_to_itself(got)
    for fmt in ('mots-txt', 'mots-png'):
        paths = export_ytvis.export(out, fmt, str(tmp_path / fmt))
        assert load(paths['class_map'])['source_classes'] == {
            '1': 'car',
            '2': 'person'
        }
        if fmt == 'mots-txt':  # the input's lines but the ignore region
            with open(osp.join(paths['annotations'], '0001.txt')) as f:
                assert f.read().splitlines() == [
                    f'0 1255 1 {H} {W} {_rle(CAR)}',
                    f'1 1255 1 {H} {W} {_rle(CAR)}',
                    f'1 2003 2 {H} {W} {_rle(PERSON)}'
                ]
        else:
            ids = np.asarray(
                Image.open(
                    osp.join(paths['annotations'], '0001', '000001.png')))
            assert ids[1, 2] == 1255 and ids[5, 0] == 2003
            assert sorted(np.unique(ids)) == [0, 1255, 2003]
        again = str(tmp_path / f'{fmt}.json')
        main([
            osp.join(kitti, 'image_02'), paths['annotations'], again,
            '--class-map', paths['class_map'], '--no-progress'
        ])
        assert load(again)['annotations'] == got['annotations']


def test_class_mapped_to_null_is_left_out_and_counted(kitti, capsys):
    write_json(
        osp.join(kitti, 'classes.json'),
        dict(classes=['car'], source_classes={
            '1': 'car',
            '2': None
        }))
    main(_argv(kitti))
    got = load(osp.join(kitti, 'out.json'))
    assert [a['category_id'] for a in got['annotations']] == [1]
    assert "not converted (null in the class map): '2' 1 masks" in (
        capsys.readouterr().out)
