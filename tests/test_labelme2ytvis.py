"""labelme2ytvis: per-frame LabelMe json -> YouTube-VIS json.

The LabelMe files here are written as LabelMe 5.x saves them
(:func:`labelme_json`: the top-level keys and the shape keys in LabelMe's
order, ``group_id`` null unless given, ``indent=2``), or with the keys of
LabelMe 4.0.0 (no ``description`` / ``mask``), as in LabelMe's own
``examples/video_annotation``."""
import base64
import io
import json
import os
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from format_round_trip import (assert_one_line_error, assert_round_trip,
                               decode, export_ytvis, load, synthetic_split,
                               write_frame, write_json)
from PIL import Image, ImageDraw
from scipy.ndimage import binary_dilation, binary_erosion, binary_fill_holes

from mmvis_clip.datasets.converters.labelme2ytvis import main

H, W = 8, 10


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def labelme_shape(label,
                  points,
                  group_id=None,
                  shape_type='polygon',
                  mask=None,
                  version='5.4.1'):
    """A shape object with the keys LabelMe writes (4.0.0: no
    ``description`` and ``mask``)."""
    if version.startswith('4.'):
        return dict(
            label=label,
            points=points,
            group_id=group_id,
            shape_type=shape_type,
            flags={})
    return dict(
        label=label,
        points=points,
        group_id=group_id,
        description='',
        shape_type=shape_type,
        flags={},
        mask=mask)


def labelme_json(path, shapes, image_path, height, width, version='5.4.1',
                 **fields):
    """Write a LabelMe json as LabelMe's ``write_label_file`` does
    (``imageData`` null: the image is not embedded)."""
    content = dict(
        version=version,
        flags={},
        shapes=shapes,
        imagePath=image_path,
        imageData=None,
        imageHeight=height,
        imageWidth=width)
    content.update(fields)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(content, f, ensure_ascii=False, indent=2)
    return path


def png_b64(mask):
    """``mask`` as LabelMe stores a mask shape: a base64 PNG (uint8)."""
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8)).save(buffer, format='PNG')
    return base64.b64encode(buffer.getvalue()).decode('ascii')


def coco_polygon_mask(points, height, width):
    """COCO's rasterization of one polygon (pycocotools)."""
    flat = [float(v) for point in points for v in point]
    rle = mask_utils.merge(mask_utils.frPyObjects([flat], height, width))
    return mask_utils.decode(rle).astype(bool)


def labelme_pil_mask(shape_type, points, height, width):
    """The mask LabelMe's ``shape_to_mask`` draws, written independently:
    PIL ``ImageDraw`` with outline and fill."""
    image = Image.new('L', (width, height), 0)
    draw = ImageDraw.Draw(image)
    xy = [tuple(point) for point in points]
    if shape_type == 'rectangle':
        (x0, y0), (x1, y1) = xy
        draw.rectangle(((min(x0, x1), min(y0, y1)), (max(x0, x1), max(
            y0, y1))),
                       outline=1,
                       fill=1)
    elif shape_type == 'circle':
        (cx, cy), (px, py) = xy
        r = ((cx - px)**2 + (cy - py)**2)**0.5
        draw.ellipse(((cx - r, cy - r), (cx + r, cy + r)), outline=1, fill=1)
    else:  # polygon, oriented_rectangle
        draw.polygon(xy, outline=1, fill=1)
    return np.asarray(image).astype(bool)


def _convert(root, *options, classes=('dog', 'cat')):
    write_json(osp.join(root, 'classes.json'), dict(classes=list(classes)))
    out = osp.join(root, 'out.json')
    if osp.exists(out):
        os.remove(out)
    main([
        osp.join(root, 'frames'), out, '--class-map',
        osp.join(root, 'classes.json'), '--no-progress', *options
    ])
    return load(out)


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
    # the exporter numbers the instances of a video 1, 2, ... (group_id)
    for video in raw['videos']:
        anns = [a for a in got['annotations'] if a['video_id'] == video['id']]
        assert [a['source_id'] for a in anns] == list(range(1, len(anns) + 1))
    assert capsys.readouterr().out.strip() == (
        f'{out}: 2 videos, 8 frames, {len(raw["annotations"])} instances, '
        '6 categories')


CAT = [[2, 1], [6, 1], [6, 4], [2, 4]]  # rows 1-3, cols 2-5: 12 px


@pytest.fixture
def labelme(tmp_path):
    """Video 'park' (frames 1.jpg, 2.jpg, 10.jpg; json beside): frame 1
    has cat 3 (a rectangle) and dog 1 in two parts; frame 10 has cat 3
    (a polygon); frame 2 has no json."""
    root = str(tmp_path)
    for frame in ('1.jpg', '2.jpg', '10.jpg'):
        write_frame(osp.join(root, 'frames', 'park', frame), H, W)
    _frame_json(root, '1', [
        labelme_shape('cat', [[6, 4], [2, 1]], 3, 'rectangle'),
        labelme_shape('dog', [[0, 5], [2, 5], [2, 7], [0, 7]], 1),
        labelme_shape('dog', [[8, 6], [10, 6], [10, 8], [8, 8]], 1),
    ])
    _frame_json(root, '10', [labelme_shape('cat', CAT, 3)])
    write_json(str(tmp_path / 'classes.json'), dict(classes=['dog', 'cat']))
    return root


def _frame_json(root, stem, shapes, **fields):
    return labelme_json(
        osp.join(root, 'frames', 'park', stem + '.json'), shapes,
        stem + '.jpg', H, W, **fields)


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
    assert (dog['source_id'], cat['source_id']) == (1, 3)  # the group_ids
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


def test_instance_is_label_and_group_id(labelme):
    """person 0 and bottle 0 are two instances (LabelMe's own exports key
    instances by (label, group_id)); the shapes of one (label, group_id) in
    a frame are its parts; a shape with group_id null is an instance of
    its own, after those with a group_id."""
    _frame_json(labelme, '1', [
        labelme_shape('person', [[0, 0], [4, 0], [4, 2], [0, 2]], 0),
        labelme_shape('bottle', [[6, 0], [8, 0], [8, 3], [6, 3]], 0),
        labelme_shape('person', [[0, 6], [2, 6], [2, 8], [0, 8]], 0),
        labelme_shape('person', [[7, 6], [10, 6], [10, 8], [7, 8]]),
    ])
    _frame_json(labelme, '10', [
        labelme_shape('bottle', [[5, 4], [7, 4], [7, 7], [5, 7]], 0),
    ])
    got = _convert(labelme, classes=('person', 'bottle'))
    bottle, person, unnamed = got['annotations']  # (0, 'bottle') first
    assert [a['category_id'] for a in got['annotations']] == [2, 1, 1]
    assert [a['source_id'] for a in got['annotations']] == [0, 0, None]
    assert bottle['areas'] == [6, None, 6]  # 2x3 in frames 1 and 10
    assert bottle['bboxes'][2] == [5.0, 4.0, 2.0, 3.0]
    assert person['areas'] == [8 + 4, None, None]  # two parts
    assert unnamed['areas'] == [6, None, None]
    assert unnamed['bboxes'][0] == [7.0, 6.0, 3.0, 2.0]


# Shapes without group_id for the linking rules (frames 20 x 30, label
# car): A and B in frame 1; frame 2 lists B2 (B moved 3 px right: IoU 18 /
# 54 = 1/3 with B) before A2 (A moved 1 px right: IoU 30 / 42 = 0.71 with
# A); frame 3 has B3 = B2 only.
A, A2 = [[2, 2], [8, 8]], [[3, 2], [9, 8]]
B, B2 = [[20, 2], [26, 8]], [[23, 2], [29, 8]]
LH, LW = 20, 30


@pytest.fixture
def unlinked(tmp_path):
    root = str(tmp_path)
    frames = {'1': [A, B], '2': [B2, A2], '3': [B2]}
    for stem, boxes in frames.items():
        write_frame(osp.join(root, 'frames', 'road', stem + '.jpg'), LH, LW)
        labelme_json(
            osp.join(root, 'frames', 'road', stem + '.json'),
            [labelme_shape('car', box, shape_type='rectangle')
             for box in boxes], stem + '.jpg', LH, LW)
    return root


def _box(corners):
    (x0, y0), (x1, y1) = corners
    mask = np.zeros((LH, LW), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _tracks(got):
    """Per annotation, per frame: which of A, A2, B, B2 its mask is."""
    names = dict(A=A, A2=A2, B=B, B2=B2)
    out = []
    for ann in got['annotations']:
        track = []
        for segm in ann['segmentations']:
            mask = None if segm is None else decode(segm)
            track.append(None if mask is None else next(
                name for name, box in names.items()
                if np.array_equal(mask, _box(box))))
        out.append(track)
    return out


@pytest.mark.parametrize('options, tracks, summary', [
    ((), [['A', 'A2', None], ['B', None, None], [None, 'B2', 'B2']],
     '3 tracks by --link iou --link-iou 0.5'),
    (('--link', 'iou', '--link-iou', '0.3'),
     [['A', 'A2', None], ['B', 'B2', 'B2']],
     '2 tracks by --link iou --link-iou 0.3'),
    (('--link', 'order'), [['A', 'B2', 'B2'], ['B', 'A2', None]],
     '2 tracks by --link order'),
])
def test_shapes_without_group_id_are_linked_by_the_rule(
        unlinked, capsys, options, tracks, summary):
    """iou: greedy by mask IoU with the previous annotated frame (A2 ->
    A at 0.71; B2 -> B only at 1/3 >= --link-iou); order: the n-th car of
    each frame, whatever it overlaps."""
    got = _convert(unlinked, *options, classes=('car', ))
    assert _tracks(got) == tracks
    assert all(a['source_id'] is None for a in got['annotations'])
    assert capsys.readouterr().out.strip().endswith(
        '; 5 shapes without group_id linked into ' + summary)


# A video like LabelMe's examples/video_annotation: 5 frames, two 'track'
# shapes and a 'car' of 100 to 250 px, every group_id null; the first
# track moves left and grows, the car touches the second track and the
# right border.
TRACK_A = [[640, 80], [600, 180], [608, 280], [712, 320], [820, 248],
           [800, 100]]
TRACK_B = [[860, 80], [1000, 72], [1008, 240], [928, 264], [872, 232]]
CAR = [[928, 256], [1008, 240], [1040, 280], [1040, 380], [944, 392]]
VH, VW = 480, 1040


def _video_shapes(t, version):
    grown = [[x - 24 * t - (12 * t if x < 680 else 0), y]
             for x, y in TRACK_A]
    return [
        labelme_shape('track', grown, version=version),
        labelme_shape('track', TRACK_B, version=version),
        labelme_shape('car', CAR, version=version)
    ]


@pytest.mark.parametrize('link', ['iou', 'order'])
@pytest.mark.parametrize('version', ['5.4.1', '4.0.0'])
def test_video_annotation_like_labelmes_example(tmp_path, capsys, link,
                                                version):
    """Shapes with group_id null in every frame (LabelMe's --keep-prev
    workflow) become 3 instances over all 5 frames with either rule, each
    mask COCO's rasterization of its shape, and within the boundary ring
    of the mask LabelMe draws."""
    root = str(tmp_path)
    folder = osp.join(root, 'frames', 'data_annotated')
    for t in range(5):
        stem = f'{100 + t:08d}'
        write_frame(osp.join(folder, stem + '.jpg'), VH, VW)
        labelme_json(
            osp.join(folder, stem + '.json'), _video_shapes(t, version),
            stem + '.jpg', VH, VW, version=version)
    got = _convert(root, '--link', link, classes=('track', 'car'))
    assert [a['category_id'] for a in got['annotations']] == [1, 1, 2]
    assert [a['source_id'] for a in got['annotations']] == [None] * 3
    for t in range(5):
        for ann, shape in zip(got['annotations'], _video_shapes(t, version)):
            mask = decode(ann['segmentations'][t])
            np.testing.assert_array_equal(
                mask, coco_polygon_mask(shape['points'], VH, VW))
            pil = labelme_pil_mask('polygon', shape['points'], VH, VW)
            assert _iou(mask, pil) >= 0.97
            assert not (mask & ~binary_dilation(pil, np.ones((3, 3)))).any()
    assert capsys.readouterr().out.strip().endswith(
        '1 videos, 5 frames, 3 instances, 2 categories; 15 shapes without '
        f'group_id linked into 3 tracks by --link {link}' +
        (' --link-iou 0.5' if link == 'iou' else ''))


# shapes of about 100 to 200 px in a 360 x 480 frame
RASTER_SHAPES = [
    ('polygon', [[40, 30], [230, 45], [160, 120], [240, 220], [60, 200],
                 [100, 110]]),  # concave
    ('rectangle', [[380, 20], [260, 130]]),  # any two opposite corners
    ('oriented_rectangle', [[330, 150], [420, 190], [380, 280], [290, 240]]),
    ('circle', [[120, 280], [120, 355]]),  # centre, a point on the circle
]


def test_masks_match_labelmes_rasterization_up_to_the_boundary_ring(
        tmp_path):
    """Against PIL's drawing (LabelMe's shape_to_mask): IoU >= 0.97, and
    the masks differ only in the ring of pixels along PIL's boundary."""
    root = str(tmp_path)
    write_frame(osp.join(root, 'frames', 'v', '0.png'), 360, 480)
    labelme_json(
        osp.join(root, 'frames', 'v', '0.json'), [
            labelme_shape('cat', points, group_id, shape_type)
            for group_id, (shape_type, points) in enumerate(RASTER_SHAPES)
        ], '0.png', 360, 480)
    got = _convert(root)
    ring = np.ones((3, 3), bool)
    for ann, (shape_type, points) in zip(got['annotations'], RASTER_SHAPES):
        mask = decode(ann['segmentations'][0])
        pil = labelme_pil_mask(shape_type, points, 360, 480)
        assert _iou(mask, pil) >= 0.97, shape_type
        assert not (mask & ~binary_dilation(pil, ring)).any(), shape_type
        assert not (binary_erosion(pil, ring) & ~mask).any(), shape_type
    # the rectangle by hand: columns 260-379, rows 20-129
    assert got['annotations'][1]['areas'] == [120 * 110]
    assert got['annotations'][1]['bboxes'] == [[260.0, 20.0, 120.0, 110.0]]


def test_mask_shape_is_pasted_at_its_box(labelme):
    """A mask shape (LabelMe's AI masks): integer points are the box's
    first and last pixel; the part outside the frame is cut."""
    patch = np.array([[1, 0, 0, 1], [1, 1, 0, 1], [0, 1, 1, 1], [0, 0, 0, 1],
                      [1, 1, 1, 1]], bool)  # 5 rows, 4 columns
    _frame_json(labelme, '10', [
        labelme_shape(
            'cat', [[3, 2], [6, 6]], 3, 'mask', mask=png_b64(patch)),
        labelme_shape(
            'dog', [[8, 5], [11, 9]], 1, 'mask', mask=png_b64(patch)),
    ])
    got = _convert(labelme)
    dog, cat = got['annotations']
    expected = np.zeros((H, W), bool)
    expected[2:7, 3:7] = patch
    np.testing.assert_array_equal(decode(cat['segmentations'][2]), expected)
    expected = np.zeros((H, W), bool)
    expected[5:8, 8:10] = patch[:3, :2]
    np.testing.assert_array_equal(decode(dog['segmentations'][2]), expected)


def test_points_up_to_one_pixel_outside_are_clipped(labelme):
    """The part of a shape outside the frame is cut (as LabelMe's exports
    draw it); points 1 pixel outside are accepted."""
    _frame_json(labelme, '10', [
        labelme_shape('cat', [[-1, -1], [11, -1], [11, 9], [-1, 9]], 3),
        labelme_shape('dog', [[-1, 0], [8, 0], [-1, 6]], 1),
    ])
    dog, cat = _convert(labelme)['annotations']
    np.testing.assert_array_equal(
        decode(cat['segmentations'][2]), np.ones((H, W), bool))
    # the triangle cut at x = 0: its edge from (8, 0) to (-1, 6) crosses
    # x = 0 at y = 6 * 8 / 9
    np.testing.assert_array_equal(
        decode(dog['segmentations'][2]),
        coco_polygon_mask([[0, 0], [8, 0], [0, 16 / 3]], H, W))


def test_label_mapped_to_null_is_left_out_and_counted(labelme, capsys):
    """Its shapes are not read further: a line of a left-out label is no
    error."""
    _frame_json(labelme, '10', [
        labelme_shape('cat', CAT, 3),
        labelme_shape('lane', [[0, 0], [9, 7]], None, 'line'),
        labelme_shape('lane', [[0, 7], [9, 0]], None, 'line'),
    ])
    write_json(
        osp.join(labelme, 'classes.json'),
        dict(
            classes=['dog', 'cat'],
            source_classes=dict(dog='dog', cat='cat', lane=None)))
    main(_argv(labelme))
    assert len(load(osp.join(labelme, 'out.json'))['annotations']) == 2
    assert capsys.readouterr().out.strip().endswith(
        "not converted (null in the class map): 'lane' 2 masks")


def _frame10(shapes, **fields):
    return lambda root: _frame_json(root, '10', shapes, **fields)


def _orphan_json(root):
    _frame_json(root, '11', [labelme_shape('cat', CAT, 3)])


def _bad_json(root):
    with open(osp.join(root, 'frames', 'park', '10.json'), 'w') as f:
        f.write('{"shapes": [')


FRAME10 = r'park/10\.json \(frame park/10\.jpg\)'
SHAPE0 = FRAME10 + r": shape 0 \(label 'cat'\)"
BAD = {
    'unknown class': (_frame10([labelme_shape('wolf', CAT, 5)]),
                      FRAME10 + r": shape 0 \(label 'wolf'\): class 'wolf' "
                      r'is not in the class map'),
    'point more than 1 pixel outside':
    (_frame10([labelme_shape('cat', [[2, 1], [6, 1], [6, 9.5]], 3)]),
     SHAPE0 + r': "points"\[2\] = \[6, 9\.5\] is more than 1 pixel outside '
     r'the 8x10 \(height x width\) frame'),
    'json without frame file': (_orphan_json,
                                r'park/11\.json: LabelMe json without a '
                                r'frame'),
    'imagePath of another frame': (_frame10([], imagePath='..\\x\\2.jpg'),
                                   FRAME10 + r": \"imagePath\" '\.\.\\\\x"
                                   r"\\\\2\.jpg' is not the frame '10\.jpg'"),
    'recorded size differs': (_frame10([], imageHeight=9),
                              FRAME10 + r': "imageHeight" is 9 but the '
                              r'frame file is 8x10'),
    'group_id not an integer':
    (_frame10([labelme_shape('cat', CAT, '3')]),
     SHAPE0 + r": \"group_id\" must be an integer or null, got '3'"),
    'line has no area':
    (_frame10([labelme_shape('cat', [[3, 3], [4, 4]], 3, 'line')]),
     SHAPE0 + r': a line shape has no area; polygon, rectangle, '
     r'oriented_rectangle, circle and mask shapes are converted'),
    'unknown shape type':
    (_frame10([labelme_shape('cat', CAT, 3, 'ellipse')]),
     SHAPE0 + r": \"shape_type\" 'ellipse' is not a LabelMe shape type"),
    'rectangle of 3 points':
    (_frame10([labelme_shape('cat', CAT[:3], 3, 'rectangle')]),
     SHAPE0 + r': a rectangle shape has 2 points, found 3'),
    'polygon of 2 points': (_frame10([labelme_shape('cat', CAT[:2], 3)]),
                            SHAPE0 + r': a polygon has at least 3 points, '
                            r'found 2'),
    'point not a pair':
    (_frame10([labelme_shape('cat', [[1, 1], [2], [3, 3]], 3)]),
     SHAPE0 + r': "points"\[1\] must be \[x, y\] with finite numbers, got '
     r'\[2\]'),
    'polygon covering no pixel':
    (_frame10([labelme_shape('cat', [[1, 1], [5, 1], [9, 1]], 3)]),
     SHAPE0 + r': the polygon covers no pixel of the frame'),
    'mask not a PNG':
    (_frame10([labelme_shape('cat', [[1, 1], [2, 2]], 3, 'mask',
                             mask='bm90IGEgcG5n')]),
     SHAPE0 + r': "mask" is not a base64 PNG'),
    'malformed json': (_bad_json, r'park/10\.json: malformed JSON'),
}


@pytest.mark.parametrize('case', list(BAD))
def test_bad_input_gives_one_line_naming_file_frame_and_shape(labelme,
                                                              case):
    mutate, message = BAD[case]
    mutate(labelme)
    assert_one_line_error(main, _argv(labelme), message)
    assert not osp.exists(osp.join(labelme, 'out.json'))


def test_bad_link_iou_gives_one_line(labelme):
    assert_one_line_error(main,
                          _argv(labelme) + ['--link-iou', '0'],
                          r'--link-iou must be in \(0, 1\], got 0\.0')


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


def test_group_ids_survive_export_and_import(labelme, tmp_path):
    """group_id 1 and 3 -> source_id -> export_ytvis --format labelme
    writes them back as group_id -> the same json again."""
    main(_argv(labelme))
    first = load(osp.join(labelme, 'out.json'))
    for stem in ('1', '10'):  # the frames folder holds frames only
        os.remove(osp.join(labelme, 'frames', 'park', stem + '.json'))
    paths = export_ytvis.export(
        osp.join(labelme, 'out.json'), 'labelme', str(tmp_path / 'lm'),
        osp.join(labelme, 'frames'))
    written = load(osp.join(paths['annotations'], 'park', '1.json'))
    assert sorted({(s['label'], s['group_id'])
                   for s in written['shapes']}) == [('cat', 3), ('dog', 1)]
    assert list(written['shapes'][0]) == [
        'label', 'points', 'group_id', 'description', 'shape_type', 'flags',
        'mask'
    ]
    again = str(tmp_path / 'again.json')
    main([
        osp.join(labelme, 'frames'), again, '--annotations',
        paths['annotations'], '--class-map', paths['class_map'],
        '--no-progress'
    ])
    assert load(again)['annotations'] == first['annotations']
