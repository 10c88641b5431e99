"""labelme2ytvis: per-frame LabelMe json (polygons, group_id) ->
YouTube-VIS json."""
import os
import os.path as osp

import numpy as np
import pytest
from format_round_trip import (assert_one_line_error, assert_round_trip,
                               decode, export_ytvis, load, synthetic_split,
                               write_frame, write_json)
from scipy.ndimage import binary_fill_holes

from mmvis_clip.datasets.converters.labelme2ytvis import main

H, W = 8, 10


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_round_trip_of_synthetic_data(make_tiny_synthetic, tmp_path,
                                      capsys):
    """The writer traces each connected part of a mask along its pixel
    corners; COCO's rasterization of such an outline gives back exactly
    the part with its holes filled (a polygon cannot hold a hole). So the
    masks must equal the originals with holes filled, pixel for pixel:
    exact for every mask without a hole (most), and IoU = |mask| /
    |filled mask| for the rest (the synthetic rings)."""
    ann_file, image_root = synthetic_split(make_tiny_synthetic)
    raw = load(ann_file)
    paths = export_ytvis.export(ann_file, 'labelme', str(tmp_path / 'lm'))
    out = str(tmp_path / 'ytvis.json')
    main([
        image_root, out, '--annotations', paths['annotations'],
        '--class-map', paths['class_map'], '--no-progress'
    ])
    got = load(out)
    assert_round_trip(got, raw, mask_of=binary_fill_holes)
    ious = [
        _iou(decode(segm), decode(want))
        for ann, want_ann in zip(got['annotations'], raw['annotations'])
        for segm, want in zip(ann['segmentations'],
                              want_ann['segmentations']) if segm is not None
    ]
    assert np.mean(np.equal(ious, 1.0)) >= 0.5  # most masks have no hole
    assert capsys.readouterr().out.strip() == (
        f'{out}: 2 videos, 8 frames, {len(raw["annotations"])} instances, '
        '6 categories')


def _shape(label, points, group_id, shape_type='polygon'):
    return dict(
        label=label,
        points=points,
        group_id=group_id,
        shape_type=shape_type,
        flags={})


CAT = [[2, 1], [6, 1], [6, 4], [2, 4]]  # rows 1-3, cols 2-5: 12 px


@pytest.fixture
def labelme(tmp_path):
    """Video 'park' (frames 1.jpg, 2.jpg, 10.jpg; json beside): frame 1
    has cat 3 (a rectangle) and dog 1 in two parts; frame 10 has cat 3
    (a polygon); frame 2 has no json."""
    root = str(tmp_path / 'frames')
    for frame in ('1.jpg', '2.jpg', '10.jpg'):
        write_frame(osp.join(root, 'park', frame), H, W)
    _frame_json(root, '1', [
        _shape('cat', [[6, 4], [2, 1]], 3, 'rectangle'),
        _shape('dog', [[0, 5], [2, 5], [2, 7], [0, 7]], 1),
        _shape('dog', [[8, 6], [10, 6], [10, 8], [8, 8]], 1),
    ])
    _frame_json(root, '10', [_shape('cat', CAT, 3)])
    write_json(str(tmp_path / 'classes.json'), dict(classes=['dog', 'cat']))
    return str(tmp_path)


def _frame_json(root, stem, shapes, **fields):
    content = dict(
        version='5.4.1',
        flags={},
        shapes=shapes,
        imagePath=stem + '.jpg',
        imageData=None,
        imageHeight=H,
        imageWidth=W)
    content.update(fields)
    return write_json(osp.join(root, 'park', stem + '.json'), content)


def _argv(root):
    return [
        osp.join(root, 'frames'),
        osp.join(root, 'out.json'), '--class-map',
        osp.join(root, 'classes.json'), '--no-progress'
    ]


def test_hand_made(labelme):
    main(_argv(labelme))
    got = load(osp.join(labelme, 'out.json'))
    assert got['videos'] == [
        dict(
            id=1,
            file_names=['park/1.jpg', 'park/2.jpg', 'park/10.jpg'],
            height=H,
            width=W,
            length=3)
    ]
    dog, cat = got['annotations']  # increasing group_id: 1, 3
    assert (dog['category_id'], cat['category_id']) == (1, 2)
    cat_mask = np.zeros((H, W), bool)
    cat_mask[1:4, 2:6] = True  # the rectangle's corners are pixel corners
    np.testing.assert_array_equal(decode(cat['segmentations'][0]), cat_mask)
    np.testing.assert_array_equal(decode(cat['segmentations'][2]), cat_mask)
    assert cat['segmentations'][1] is None  # frame 2 has no json
    dog_mask = np.zeros((H, W), bool)
    dog_mask[5:7, 0:2] = True
    dog_mask[6:8, 8:10] = True  # two shapes of one group_id: their union
    np.testing.assert_array_equal(decode(dog['segmentations'][0]), dog_mask)
    assert dog['areas'] == [8, None, None]


def _frame10(shapes, **fields):
    return lambda root: _frame_json(osp.join(root, 'frames'), '10', shapes,
                                    **fields)


def _orphan_json(root):
    _frame_json(osp.join(root, 'frames'), '11', [_shape('cat', CAT, 3)])


def _bad_json(root):
    with open(osp.join(root, 'frames', 'park', '10.json'), 'w') as f:
        f.write('{"shapes": [')


FRAME10 = r'park/10\.json \(frame park/10\.jpg\)'
BAD = {
    'unknown class': (_frame10([_shape('wolf', CAT, 5)]),
                      FRAME10 + r": shape 0 \(label 'wolf'\): class 'wolf' "
                      r'is not in the class map'),
    'polygon outside its frame':
    (_frame10([_shape('cat', [[2, 1], [6, 1], [6, 9]], 3)]),
     FRAME10 + r": shape 0 \(label 'cat'\): polygon 0 has y = 9 outside the "
     r'frame'),
    'one instance with two classes':
    (_frame10([_shape('dog', CAT, 3)]),
     FRAME10 + r": shape 0 \(label 'dog'\): instance 3 has class 'dog' "
     r"here but 'cat' in .*park/1\.json \(frame park/1\.jpg\): shape 0"),
    'two labels in one group in a frame':
    (_frame10([_shape('cat', CAT, 3),
               _shape('dog', CAT, 3)]),
     FRAME10 + r": shape 1 \(label 'dog'\): group_id 3 has label 'dog' "
     r"here but 'cat' in .*: shape 0"),
    'json without frame file': (_orphan_json,
                                r'park/11\.json: LabelMe json without a '
                                r'frame'),
    'imagePath of another frame': (_frame10([], imagePath='..\\x\\2.jpg'),
                                   FRAME10 + r": \"imagePath\" '\.\.\\\\x"
                                   r"\\\\2\.jpg' is not the frame '10\.jpg'"),
    'recorded size differs': (_frame10([], imageHeight=9),
                              FRAME10 + r': "imageHeight" is 9 but the '
                              r'frame file is 8x10'),
    'no group_id': (_frame10([_shape('cat', CAT, None)]),
                    FRAME10 + r": shape 0 \(label 'cat'\): no \"group_id\""),
    'circle': (_frame10([_shape('cat', [[3, 3], [4, 4]], 3, 'circle')]),
               FRAME10 + r": shape 0 \(label 'cat'\): shape_type 'circle' "
               r'is not supported'),
    'point not a pair': (_frame10([_shape('cat', [[1, 1], [2], [3, 3]], 3)]),
                         FRAME10 + r": shape 0 \(label 'cat'\): \"points\" "
                         r'must be a list of \[x, y\]'),
    'malformed json': (_bad_json, r'park/10\.json: malformed JSON'),
}


@pytest.mark.parametrize('case', list(BAD))
def test_bad_input_gives_one_line_naming_file_and_frame(labelme, case):
    mutate, message = BAD[case]
    mutate(labelme)
    assert_one_line_error(main, _argv(labelme), message)
    assert not osp.exists(osp.join(labelme, 'out.json'))


def test_annotations_folder_apart_from_frames(labelme):
    """The json files under --annotations give the same result."""
    main(_argv(labelme))
    beside = load(osp.join(labelme, 'out.json'))
    os.remove(osp.join(labelme, 'out.json'))
    os.makedirs(osp.join(labelme, 'ann', 'park'))
    for stem in ('1', '10'):
        os.rename(
            osp.join(labelme, 'frames', 'park', stem + '.json'),
            osp.join(labelme, 'ann', 'park', stem + '.json'))
    main(_argv(labelme) + ['--annotations', osp.join(labelme, 'ann')])
    assert load(osp.join(labelme, 'out.json')) == beside
