"""Every converter refuses a frame cut short (its header intact), naming
the file, before writing anything; whole frames, and frames with data
after their end marker, pass."""
import importlib
import json
import os
import os.path as osp
import shutil

import cv2
import mmcv
import numpy as np
import pytest
from format_round_trip import (assert_one_line_error, export_ytvis, load,
                               synthetic_split)
from PIL import Image

from mmvis_clip.datasets.converters.image_integrity import check_image_complete
from mmvis_clip.structures.vis_format import VISFormatError

#: The frame the tests cut: the third frame of the second video.
VIDEO, FRAME = 1, 2


def cut(path, fraction=0.3):
    """Keep the first ``fraction`` of the file (a copy that stopped)."""
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * fraction)])


@pytest.fixture
def split(make_tiny_synthetic, tmp_path):
    """A copy of a tiny synthetic split's frames (2 videos x 4 JPEGs of
    64x96 written by OpenCV), the raw json and each converter's argv."""
    ann_file, image_root = synthetic_split(make_tiny_synthetic)
    frames = str(tmp_path / 'JPEGImages')
    shutil.copytree(image_root, frames)
    raw = load(ann_file)
    with open(tmp_path / 'classes.json', 'w') as f:
        json.dump(dict(classes=[c['name'] for c in raw['categories']],
                       instances={}), f)
    mots = export_ytvis.export(ann_file, 'mots-txt', str(tmp_path / 'mots'))
    coco = export_ytvis.export(ann_file, 'coco-track', str(tmp_path / 'co'))
    labelme = export_ytvis.export(ann_file, 'labelme', str(tmp_path / 'lm'),
                                  frames)
    out = str(tmp_path / 'out.json')
    argv = {
        'frames2ytvis': [str(tmp_path), out],
        'mots2ytvis': [frames, mots['annotations'], out, '--class-map',
                       mots['class_map']],
        'cocotrack2ytvis': [coco['annotations'], frames, out, '--class-map',
                            coco['class_map']],
        'labelme2ytvis': [frames, out, '--annotations',
                          labelme['annotations'], '--class-map',
                          labelme['class_map']],
    }
    name = raw['videos'][VIDEO]['file_names'][FRAME]
    return dict(argv=argv, out=out, frame=osp.join(frames, name))


CONVERTERS = ('frames2ytvis', 'mots2ytvis', 'cocotrack2ytvis',
              'labelme2ytvis')


def main_of(name):
    """The command line entry point of converter ``name``."""
    return importlib.import_module(
        f'mmvis_clip.datasets.converters.{name}').main


@pytest.mark.parametrize('converter', CONVERTERS)
def test_every_converter_refuses_a_truncated_frame(split, converter):
    main = main_of(converter)
    argv = split['argv'][converter] + ['--no-progress']
    main(argv)  # the whole split converts
    os.remove(split['out'])
    cut(split['frame'])
    # the header still reads: only the end of the file is missing
    with Image.open(split['frame']) as image:
        assert image.size == (96, 64)
    # and the data pipeline (mmcv, OpenCV) could not load it in training
    with open(split['frame'], 'rb') as f:
        assert mmcv.imfrombytes(f.read()) is None
    assert_one_line_error(
        main, argv, '^error: ' + split['frame'].replace('.', r'\.') +
        r': the image is truncated or corrupt \(it does not end with the '
        r'JPEG end marker and it cannot be decoded: image file is '
        r'truncated')
    assert not osp.exists(split['out'])


def test_data_after_the_end_marker_is_kept(split, tmp_path):
    """A JPEG with bytes appended after its end (e.g. a motion photo)
    decodes, so it is accepted with its size."""
    with open(split['frame'], 'ab') as f:
        f.write(b'\0' * 64 + b'appended data')
    assert cv2.imread(split['frame']).shape == (64, 96, 3)
    main_of('frames2ytvis')(split['argv']['frames2ytvis'] + ['--no-progress'])
    video = load(split['out'])['videos'][VIDEO]
    assert (video['height'], video['width'], video['length']) == (64, 96, 4)


def write_png(path, pixels):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path)


def test_truncated_png_frame_and_mask_are_refused(tmp_path):
    root = tmp_path / 'split'
    rng = np.random.default_rng(0)
    frame = str(root / 'JPEGImages' / 'v' / '0.png')
    write_png(frame, (rng.random((32, 48, 3)) * 255).astype(np.uint8))
    ids = np.zeros((32, 48), np.uint8)
    ids[4:20, 5:30] = 1
    mask = str(root / 'Annotations' / 'v' / '0.png')
    write_png(mask, ids)
    with open(root / 'classes.json', 'w') as f:
        json.dump(dict(classes=['a'], instances=dict(v={'1': 'a'})), f)
    argv = [str(root), str(tmp_path / 'out.json'), '--no-progress']
    main_of('frames2ytvis')(argv)
    os.remove(tmp_path / 'out.json')

    cut(mask, 0.5)
    assert_one_line_error(
        main_of('frames2ytvis'), argv,
        f'^error: {mask}: cannot read the mask PNG \\(image file is '
        'truncated')
    cut(frame)  # (Pillow reads the PNG's chunks up to its EXIF: cut there)
    assert_one_line_error(
        main_of('frames2ytvis'), argv,
        f'^error: {frame}: cannot read the image \\(image file is '
        'truncated')
    assert not osp.exists(tmp_path / 'out.json')


def test_check_image_complete(tmp_path):
    path = str(tmp_path / 'a.jpg')
    pixels = (np.random.default_rng(1).random((40, 60, 3)) * 255).astype(
        np.uint8)
    assert cv2.imwrite(path, pixels)
    check_image_complete(path, 'JPEG')  # whole: passes
    # a file of another format is decoded in full
    bmp = str(tmp_path / 'a.bmp')
    assert cv2.imwrite(bmp, pixels)
    check_image_complete(bmp, 'BMP')
    cut(bmp, 0.5)
    with pytest.raises(VISFormatError, match='a.bmp: the image is truncated '
                       r'or corrupt \(it cannot be decoded'):
        check_image_complete(bmp, 'BMP')
    png = str(tmp_path / 'a.png')
    assert cv2.imwrite(png, pixels)
    check_image_complete(png, 'PNG')
    cut(png)
    with pytest.raises(VISFormatError, match='a.png: the image is truncated '
                       r'or corrupt \(it does not end with the PNG end '
                       'marker and it cannot be decoded'):
        check_image_complete(png, 'PNG')
    # a file of zero bytes
    open(path, 'wb').close()
    with pytest.raises(VISFormatError, match='0 bytes'):
        check_image_complete(path, 'JPEG')
