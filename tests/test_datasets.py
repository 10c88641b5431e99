"""Tests of the VIS datasets and the base dataset configs."""
import copy
import json
import os
import os.path as osp

import pytest
from mmdet.registry import DATA_SAMPLERS, DATASETS, METRICS, TRANSFORMS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmvis_clip  # noqa: F401  (registers the datasets)
from mmvis_clip.datasets import OVISDataset, SyntheticVISDataset
from mmvis_clip.datasets.converters import convert_vis_to_cocovid
from mmvis_clip.datasets.synthetic import (SYNTHETIC_VIS_CLASSES,
                                           make_synthetic_vis)
from mmvis_clip.utils.atomic_io import dump_json_atomic

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
    'datasets')

# The official OVIS categories, ids 1..25 in this order ('Vehical' sic).
OVIS_CLASSES = ('Person', 'Bird', 'Cat', 'Dog', 'Horse', 'Sheep', 'Cow',
                'Elephant', 'Bear', 'Zebra', 'Giraffe', 'Poultry',
                'Giant_panda', 'Lizard', 'Parrot', 'Monkey', 'Rabbit', 'Tiger',
                'Fish', 'Turtle', 'Bicycle', 'Motorcycle', 'Airplane', 'Boat',
                'Vehical')

init_default_scope('mmdet')


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('datasets') / 'synthetic_vis')
    make_synthetic_vis(
        root,
        num_videos=2,
        num_frames=4,
        size=(64, 96),
        seed=5,
        show_progress=False)
    return root


def _raw(root, split='train'):
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def _present_ids(raw, video_id, frame_id):
    """Raw annotation ids present (non-null mask) in a frame."""
    return {
        a['id']
        for a in raw['annotations'] if a['video_id'] == video_id
        and a['segmentations'][frame_id] is not None
    }


def _synthetic(root, test_mode, split='train'):
    return SyntheticVISDataset(
        data_root=root,
        ann_file=f'annotations/{split}_cocovid.json',
        data_prefix=dict(img_path=f'{split}/JPEGImages'),
        test_mode=test_mode,
        pipeline=[])


def test_synthetic_dataset_instances_follow_the_raw_json(synthetic_root):
    raw = _raw(synthetic_root)
    dataset = _synthetic(synthetic_root, test_mode=True)
    assert dataset.metainfo['classes'] == SYNTHETIC_VIS_CLASSES
    assert len(dataset) == 2
    anns = {a['id']: a for a in raw['annotations']}
    absent_checked = 0
    for video_index in range(2):
        info = dataset.get_data_info(video_index)
        video_id = info['video_id']
        assert info['video_length'] == 4 and len(info['images']) == 4
        for frame_id, frame in enumerate(info['images']):
            assert frame['frame_id'] == frame_id
            assert frame['img_path'] == osp.join(
                synthetic_root, 'train/JPEGImages',
                f'video_{video_index:04d}/{frame_id:05d}.jpg')
            ids = [inst['instance_id'] for inst in frame['instances']]
            assert set(ids) == _present_ids(raw, video_id, frame_id)
            absent_checked += sum(a['video_id'] == video_id
                                  and a['segmentations'][frame_id] is None
                                  for a in raw['annotations'])
            for inst in frame['instances']:
                ann = anns[inst['instance_id']]
                assert inst['bbox_label'] == ann['category_id'] - 1
                x, y, w, h = ann['bboxes'][frame_id]
                assert inst['bbox'] == [x, y, x + w, y + h]
    assert absent_checked > 0  # the set does have absent frames


def test_training_drops_frames_without_instances(synthetic_root):
    raw = _raw(synthetic_root)
    dataset = _synthetic(synthetic_root, test_mode=False)
    for video_index in range(2):
        info = dataset.get_data_info(video_index)
        expected = [
            t for t in range(4) if _present_ids(raw, info['video_id'], t)
        ]
        assert [im['frame_id'] for im in info['images']] == expected
        assert dataset.get_len_per_video(video_index) == len(expected)


def _ovis_raw(class_names):
    rle_frame = dict(size=[4, 6], counts=[9, 2, 2, 2, 2, 2, 5])
    return dict(
        categories=[
            dict(id=i + 1, name=name) for i, name in enumerate(class_names)
        ],
        videos=[
            dict(
                id=3,
                width=6,
                height=4,
                length=2,
                file_names=['a1b2/img_0000001.jpg', 'a1b2/img_0000002.jpg'])
        ],
        annotations=[
            dict(
                id=12,
                video_id=3,
                category_id=25,
                iscrowd=0,
                segmentations=[rle_frame, None],
                bboxes=[[2.0, 1.0, 3.0, 2.0], None],
                areas=[6, None],
                occlusion=['severe_occlusion', None])
        ])


def _write_ovis(tmp_path, class_names):
    ann_file = osp.join(tmp_path, 'ovis_train.json')
    dump_json_atomic(
        convert_vis_to_cocovid(_ovis_raw(class_names), show_progress=False),
        ann_file)
    return ann_file


def test_ovis_dataset_classes_and_labels(tmp_path):
    assert OVISDataset.METAINFO['classes'] == OVIS_CLASSES
    ann_file = _write_ovis(tmp_path, OVIS_CLASSES)
    dataset = OVISDataset(
        ann_file=ann_file,
        data_prefix=dict(img_path='train'),
        test_mode=True,
        pipeline=[])
    frames = dataset.get_data_info(0)['images']
    assert len(frames) == 2
    instance, = frames[0]['instances']
    assert instance['instance_id'] == 12
    assert instance['bbox_label'] == 24  # category id 25, 'Vehical'
    assert instance['bbox'] == [2.0, 1.0, 5.0, 3.0]
    assert frames[1]['instances'] == []  # absent in frame 1


def test_ovis_dataset_refuses_json_with_other_class_names(tmp_path):
    names = list(OVIS_CLASSES[:-1]) + ['Vehicle']
    ann_file = _write_ovis(tmp_path, names)
    with pytest.raises(ValueError) as error:
        OVISDataset(ann_file=ann_file, test_mode=True, pipeline=[])
    assert ann_file in str(error.value)
    assert "['Vehical']" in str(error.value)


def test_synthetic_train_config_pipeline_end_to_end(synthetic_root):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'synthetic_vis.py'))
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.data_root = synthetic_root
    dataset = DATASETS.build(dataset_cfg)
    raw = _raw(synthetic_root)
    video_id = dataset.get_data_info(0)['video_id']
    key_frame = dataset.get_data_info(0)['images'][0]['frame_id']
    sample = dataset[(0, 0)]
    # key + 1 reference frame; 64x96 frames fit into (224, 128) at x2
    assert tuple(sample['inputs'].shape) == (2, 3, 128, 192)
    frames = sample['data_samples'].video_data_samples
    assert key_frame in [f.frame_id for f in frames]
    for frame in frames:
        ids = set(frame.gt_instances.instances_ids.tolist())
        assert ids == _present_ids(raw, video_id, frame.frame_id)
        assert frame.gt_instances.masks.masks.shape[1:] == (128, 192)


def test_synthetic_val_config_yields_whole_videos(synthetic_root):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'synthetic_vis.py'))
    dataset_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    dataset_cfg.data_root = synthetic_root
    dataset = DATASETS.build(dataset_cfg)
    sample = dataset[1]
    assert tuple(sample['inputs'].shape) == (4, 3, 128, 192)
    frames = sample['data_samples'].video_data_samples
    assert [f.frame_id for f in frames] == [0, 1, 2, 3]
    # ground truth stays at the original resolution for the metric
    assert all(f.gt_instances.masks.masks.shape[1:] == (64, 96)
               for f in frames)


@pytest.mark.parametrize('name, dataset_type, data_root, scale, ann_files', [
    ('youtube_vis_2019.py', 'YouTubeVISDataset', 'data/youtube_vis_2019/',
     (640, 360), ('annotations/youtube_vis_2019_train.json',
                  'annotations/youtube_vis_2019_valid.json')),
    ('youtube_vis_2021.py', 'YouTubeVISDataset', 'data/youtube_vis_2021/',
     (640, 360), ('annotations/youtube_vis_2021_train.json',
                  'annotations/youtube_vis_2021_valid.json')),
    ('ovis.py', 'OVISDataset', 'data/ovis/', (640, 360),
     ('annotations/ovis_train.json', 'annotations/ovis_valid.json')),
    ('synthetic_vis.py', 'SyntheticVISDataset', 'data/synthetic_vis/',
     (224, 128),
     ('annotations/train_cocovid.json', 'annotations/valid_cocovid.json')),
])
def test_base_dataset_config(name, dataset_type, data_root, scale, ann_files):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    train, val = cfg.train_dataloader, cfg.val_dataloader
    assert cfg.test_dataloader == val
    assert DATASETS.get(dataset_type) is not None
    for loader, ann_file in zip((train, val), ann_files):
        assert loader.dataset.type == dataset_type
        assert loader.dataset.data_root == data_root
        assert loader.dataset.ann_file == ann_file
    if dataset_type == 'YouTubeVISDataset':
        assert train.dataset.dataset_version == data_root[-5:-1]
    assert train.sampler.type == 'TrackImgSampler'
    assert val.sampler == dict(
        type='DefaultSampler', shuffle=False, round_up=False)
    assert val.dataset.test_mode is True
    assert DATA_SAMPLERS.get(train.sampler.type) is not None
    # key frame + one reference frame, same augmentation for both
    sampler_step, broadcaster, pack = train.dataset.pipeline
    assert sampler_step.type == 'UniformRefFrameSample'
    assert sampler_step.num_ref_imgs == 1
    assert broadcaster.type == 'TransformBroadcaster'
    assert broadcaster.share_random_params is True
    assert pack.type == 'PackTrackInputs'
    for pipeline in (train.dataset.pipeline, val.dataset.pipeline):
        steps = [s for s in pipeline if s.type != 'TransformBroadcaster']
        for s in pipeline:
            steps.extend(s.get('transforms', []))
        assert all(TRANSFORMS.get(s.type) is not None for s in steps)
        resize = [s for s in steps if s.type == 'Resize']
        assert len(resize) == 1
        assert tuple(resize[0].scale) == scale
        assert resize[0].keep_ratio is True
    assert cfg.val_evaluator.type == 'VISMetric'
    assert cfg.test_evaluator == cfg.val_evaluator
    assert METRICS.get('VISMetric') is not None
    if dataset_type == 'SyntheticVISDataset':
        assert cfg.val_evaluator.ann_file == \
            'data/synthetic_vis/annotations/valid.json'
        assert not cfg.val_evaluator.get('format_only', False)
    else:
        assert cfg.val_evaluator.format_only is True


def _method_configs(*words):
    root = osp.dirname(osp.dirname(CONFIG_DIR))  # configs/
    return sorted(
        osp.join(root, method, name) for method in ('stc', 'cico')
        for name in os.listdir(osp.join(root, method))
        if name.endswith('.py') and any(w in name for w in words))


@pytest.mark.parametrize(
    'config', _method_configs('youtubevis', 'ovis'), ids=osp.basename)
def test_gpu_configs_train_loaders(config):
    """The YouTube-VIS / OVIS configs' training loaders: 4 workers per GPU
    for a batch of 2 x 2 frames (STC), 8 for 6 clips x 3 frames (CiCo),
    persistent, pinned; validation as mmdet's VIS configs."""
    cfg = Config.fromfile(config)
    train, val = cfg.train_dataloader, cfg.val_dataloader
    if osp.basename(config).startswith('cico'):  # clips of 3 frames
        assert (train.batch_size, cfg.model.num_frames,
                train.num_workers) == (6, 3, 8)
    else:  # key frames and their reference frames
        assert (train.batch_size, train.num_workers) == (2, 4)
    assert train.persistent_workers is True
    assert train.pin_memory is True
    assert (val.num_workers, val.persistent_workers) == (2, True)
    assert 'pin_memory' not in val


@pytest.mark.parametrize(
    'config', _method_configs('synthetic'), ids=osp.basename)
def test_synthetic_configs_train_loaders_stay_for_the_cpu(config):
    cfg = Config.fromfile(config)
    assert cfg.train_dataloader.num_workers == 1
    assert 'pin_memory' not in cfg.train_dataloader
