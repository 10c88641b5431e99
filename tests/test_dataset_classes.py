"""The classes of a json and of a dataset config, and how they disagree
(mmvis_clip/datasets/dataset_classes.py, VISVideoDataset, the check before
training and testing, the checkpoint's classes)."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmvis_clip.datasets import VISVideoDataset
from mmvis_clip.datasets.converters.vis2cocovid import convert_vis_to_cocovid
from mmvis_clip.datasets.dataset_classes import (categories_to_classes,
                                                 class_mismatch,
                                                 make_dataset_config_command,
                                                 raw_json_of,
                                                 read_json_categories)
from mmvis_clip.engine.checkpoint_load_hook import (check_checkpoint_classes,
                                                    checkpoint_classes)
from mmvis_clip.engine.config_checks import (check_dataset_classes,
                                             config_dataset_classes)
from mmvis_clip.structures.vis_format import VISFormatError
from mmvis_clip.utils.atomic_io import dump_json_atomic
from mmvis_clip.utils.checkpoint_loading import CheckpointError
from mmvis_clip.utils.user_errors import UserError


def _categories(*names, ids=None):
    ids = ids or range(1, len(names) + 1)
    return [dict(id=i, name=n) for i, n in zip(ids, names)]


def _raw(categories):
    return dict(
        categories=categories,
        videos=[
            dict(id=1, width=6, height=4, length=1, file_names=['v/0.jpg'])
        ],
        annotations=[
            dict(
                id=1,
                video_id=1,
                category_id=categories[0]['id'],
                iscrowd=0,
                bboxes=[[1.0, 1.0, 2.0, 2.0]],
                areas=[4.0],
                segmentations=[[[1.0, 1.0, 3.0, 1.0, 3.0, 3.0, 1.0, 3.0]]])
        ])


def _cocovid(tmp_path, *names, name='x_cocovid.json'):
    path = str(tmp_path / name)
    dump_json_atomic(
        convert_vis_to_cocovid(_raw(_categories(*names)), show_progress=False),
        path)
    return path


def test_read_json_categories_whole_and_fast(tmp_path):
    path = str(tmp_path / 'a.json')
    # a "categories" key inside another object comes first in the file
    data = dict(
        info=dict(categories='not these'),
        videos=[dict(id=1, file_names=['x/categories/0.jpg'])],
        categories=_categories('cat', 'dog'))
    with open(path, 'w') as f:
        json.dump(data, f)
    assert read_json_categories(path) == _categories('cat', 'dog')
    assert read_json_categories(
        path, fast_above=0) == _categories('cat', 'dog')
    with open(path, 'w') as f:
        json.dump(dict(videos=[]), f)
    for fast_above in (0, 1 << 20):
        with pytest.raises(VISFormatError, match='"categories" must be'):
            read_json_categories(path, fast_above=fast_above)


def test_categories_to_classes_in_id_order():
    assert categories_to_classes(_categories('b', 'a', ids=[3, 7]),
                                 'x.json') == ('b', 'a')
    for categories, message in (
        ([], 'is missing or empty'),
        (_categories('a', 'b', ids=[2, 1]), r'not in id order \(ids \[2, 1\]'),
        (_categories('a', 'a'), r"repeats the names \['a'\]"),
        (_categories('a', 'b', ids=[1, 1]), r'repeats the ids \[1\]'),
        (_categories('a', 'b', ids=[1, '2']), 'must be an integer'),
        (_categories('a', ''), 'non-empty string'),
    ):
        with pytest.raises(VISFormatError, match=message):
            categories_to_classes(categories, 'x.json')


def test_class_mismatch():
    assert class_mismatch(['a', 'b'], ['a', 'b']) is None
    assert class_mismatch(['a', 'b'], ['a', 'z', 'b']) is None  # a subset
    assert class_mismatch(['a', 'b'], ['x', 'y']) == 'has none of the classes'
    assert class_mismatch(['a', 'b'], ['a', 'y']) == \
        "lacks the classes ['b']"
    assert class_mismatch(['a', 'b'], ['a', 'b', 'a']) == \
        "repeats the class names ['a']"
    assert class_mismatch(
        ['a', 'b'],
        ['b', 'a'
         ]).startswith("lists the classes in another order (['b', 'a'])")


def test_raw_json_of_and_command(tmp_path):
    raw = tmp_path / 'train.json'
    assert raw_json_of(str(tmp_path / 'train_cocovid.json')) is None
    raw.write_text('{}')
    assert raw_json_of(str(tmp_path / 'train_cocovid.json')) == str(raw)
    assert raw_json_of(str(raw)) is None
    assert make_dataset_config_command(
        'c.py', img_dir='f') == (
            'python tools/misc/make_dataset_config.py c.py OUT.py --train-ann '
            'TRAIN.json --val-ann VAL.json --img-dir f')


def test_vis_video_dataset_needs_its_classes_in_order(tmp_path):
    ann = _cocovid(tmp_path, 'cat', 'dog')
    dataset = VISVideoDataset(
        ann_file=ann, metainfo=dict(classes=('cat', 'dog')), pipeline=[])
    assert dataset.metainfo['classes'] == ('cat', 'dog')
    assert len(dataset) == 1
    with pytest.raises(UserError, match='no classes'):
        VISVideoDataset(ann_file=ann, pipeline=[])
    with pytest.raises(UserError) as error:
        VISVideoDataset(
            ann_file=ann, metainfo=dict(classes=('dog', 'cat')), pipeline=[])
    assert str(error.value) == (
        f'{ann}: field "categories" lists the classes in another order '
        "(['cat', 'dog']), so its labels would not be the classes of "
        "VISVideoDataset (classes ['dog', 'cat']); its names are "
        "['cat', 'dog']. For a dataset of your own, write its config with "
        'tools/misc/make_dataset_config.py')


def test_config_check_before_anything_is_built(tmp_path):
    ann = _cocovid(tmp_path, 'cat', 'dog', name='train_cocovid.json')
    (tmp_path / 'train.json').write_text('{}')
    dataset = dict(
        type='SyntheticVISDataset',
        data_root=str(tmp_path) + '/',
        ann_file='train_cocovid.json',
        data_prefix=dict(img_path='frames'))
    assert config_dataset_classes(dataset) == ('disc', 'square', 'triangle',
                                               'ring', 'cross', 'star')
    assert config_dataset_classes(dict(type='CocoDataset')) is None
    # mmdet's sets its classes when built, from dataset_version
    youtube_vis = dict(type='YouTubeVISDataset', dataset_version='2021')
    assert config_dataset_classes(youtube_vis) is None
    assert config_dataset_classes(
        dict(youtube_vis, metainfo=dict(classes=('a', 'b')))) == ('a', 'b')
    config = tmp_path / 'my_config.py'
    config.write_text('')
    cfg = Config(
        dict(train_dataloader=dict(dataset=dataset)), filename=str(config))
    with pytest.raises(UserError) as error:
        check_dataset_classes(cfg, ['train_dataloader', 'val_dataloader'])
    assert str(error.value) == (
        f'{config}: train_dataloader.dataset.ann_file {ann} has the '
        "categories ['cat', 'dog'], not the classes ['disc', 'square', "
        "'triangle', 'ring', 'cross', 'star'] of its SyntheticVISDataset "
        '(the json has none of the classes); for this dataset, write a '
        'config with: python tools/misc/make_dataset_config.py '
        f"{config} OUT.py --train-ann {tmp_path / 'train.json'} "
        f"--val-ann VAL.json --img-dir {tmp_path / 'frames'}")
    # the same dataset with the json's classes passes
    cfg.train_dataloader.dataset.metainfo = dict(classes=['cat', 'dog'])
    check_dataset_classes(cfg, ['train_dataloader'])
    # inside a wrapper, too
    cfg = Config(
        dict(
            val_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[dict(dataset, metainfo=None)]))))
    with pytest.raises(
            UserError,
            match=r'val_dataloader\.dataset\.datasets'
            r'\.0\.ann_file .* --val-ann .*train\.json'):
        check_dataset_classes(cfg, ['val_dataloader'])


def test_checkpoint_classes():
    assert checkpoint_classes({'meta': {}}) is None
    assert checkpoint_classes({}) is None
    assert checkpoint_classes(
        {'meta': {
            'dataset_meta': {
                'CLASSES': ('a', 'b')
            }
        }}) == ['a', 'b']
    ckpt = {'meta': {'dataset_meta': {'classes': ('a', 'b')}}}
    check_checkpoint_classes(ckpt, 'c.pth', ('a', 'b'), 'c.py', 'test')
    check_checkpoint_classes(ckpt, 'c.pth', None, 'c.py', 'test')
    with pytest.raises(CheckpointError) as error:
        check_checkpoint_classes(ckpt, 'c.pth', ['b', 'a'], 'c.py',
                                 'test_dataloader.dataset t.json')
    assert str(error.value) == (
        "checkpoint c.pth was trained on the classes ['a', 'b'] (its "
        "meta.dataset_meta), but config c.py tests on ['b', 'a'] "
        '(test_dataloader.dataset t.json); test it with the config it was '
        'trained with (a copy is in its work directory), or train this '
        'config first')


def test_own_data_hint_never_suggests_synthetic_data(tmp_path):
    from mmvis_clip.engine.config_checks import _missing_hint
    synthetic = dict(
        type='SyntheticVISDataset', data_root='data/'
        'synthetic_vis/')
    assert 'make_synthetic_vis.py --out data/synthetic_vis' in \
        _missing_hint(synthetic)
    mine = dict(synthetic, data_root=str(tmp_path) + '/')
    hint = _missing_hint(mine, osp.join(str(tmp_path), 'a.json'))
    assert 'make_synthetic_vis' not in hint
    assert 'make_dataset_config.py' in hint
    (tmp_path / 'a.json').write_text('{}')
    assert _missing_hint(mine, str(tmp_path / 'a_cocovid.json')) == (
        '; convert it from its raw json with: python tools/'
        f"dataset_converters/vis2cocovid.py -i {tmp_path / 'a.json'} -o "
        f"{tmp_path / 'a_cocovid.json'}")
    assert 'as docs/data.md says' in _missing_hint(
        dict(type='YouTubeVISDataset', data_root='data/youtube_vis_2019/'))
