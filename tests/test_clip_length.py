"""The clip length T has one owner, CiCo's model.num_frames: the box head,
the tracker and the training clips follow it."""
import os.path as osp

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config

import mmvis_clip  # noqa: F401
from mmvis_clip.engine.clip_length import apply_clip_length
from mmvis_clip.engine.config_checks import merge_cfg_options
from mmvis_clip.models.vis.cico import clip_length
from mmvis_clip.utils.user_errors import UserError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CICO = osp.join(REPO, 'configs', 'cico',
                'cico-yolact_r18_fpn_1xb4-8e_synthetic.py')


def test_one_key_changes_the_clip_length_everywhere():
    cfg = Config.fromfile(CICO)
    merge_cfg_options(cfg, {'model.num_frames': 5})
    assert apply_clip_length(cfg) == [
        'train_dataloader.dataset.pipeline.0.num_frames'
    ]
    assert cfg.train_dataloader.dataset.pipeline[0] == dict(
        type='ContiguousClipSample', num_frames=5)
    model = MODELS.build(cfg.model)
    assert (model.num_frames, model.bbox_head.num_frames,
            model.tracker.clip_len) == (5, 5, 5)
    # the box layer predicts 4 coordinates per frame of the clip
    assert model.bbox_head.conv_reg.out_channels == \
        model.bbox_head.num_base_priors * 4 * 5


def test_a_sampler_set_to_another_length_is_one_line():
    cfg = Config.fromfile(CICO)
    cfg.train_dataloader.dataset.pipeline[0]['num_frames'] = 2
    with pytest.raises(UserError) as err:
        apply_clip_length(cfg)
    assert str(err.value) == (
        'train_dataloader.dataset.pipeline.0.num_frames=2 '
        '(ContiguousClipSample) but model.num_frames=3: leave it out (the '
        'clips follow model.num_frames) or make the two equal')
    cfg.train_dataloader.dataset.pipeline[0]['num_frames'] = 3
    assert apply_clip_length(cfg) == []  # equal: kept


def test_nested_samplers_and_models_without_a_clip_length():
    cfg = Config(
        dict(
            model=dict(type='CiCo', num_frames=4),
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(pipeline=[dict(type='ContiguousClipSample')]),
                        dict(type='ImagesAsPseudoVideos', pipeline=[])
                    ]))))
    assert apply_clip_length(cfg) == [
        'train_dataloader.dataset.datasets.0.pipeline.0.num_frames',
        'train_dataloader.dataset.datasets.1.num_frames'
    ]
    stc = Config(
        dict(
            model=dict(type='STC'),
            train_dataloader=dict(
                dataset=dict(pipeline=[dict(type='ImageAsClip')]))))
    assert apply_clip_length(stc) == []
    assert 'num_frames' not in stc.train_dataloader.dataset.pipeline[0]


@pytest.mark.parametrize('num_frames,head,tracker,expected', [
    (None, None, None, 3),
    (5, None, None, 5),
    (None, 2, 2, 2),  # a config of an earlier release
    (4, 4, None, 4),
])
def test_clip_length_of_a_config(num_frames, head, tracker, expected):
    bbox_head = {} if head is None else dict(num_frames=head)
    track = {} if tracker is None else dict(clip_len=tracker)
    assert clip_length(num_frames, bbox_head, track) == expected


def test_clip_length_set_twice_differently_names_the_keys():
    with pytest.raises(ValueError) as err:
        clip_length(5, dict(num_frames=3), dict(type='ClipTracker'))
    assert str(err.value) == (
        'CiCo: the clip length is set to different values '
        '(model.num_frames=5, model.bbox_head.num_frames=3); set '
        'model.num_frames alone: the box head and the tracker follow it')


def test_a_sampler_without_length_outside_the_tools_says_so():
    from mmvis_clip.datasets.transforms import ContiguousClipSample
    with pytest.raises(ValueError, match='num_frames is not set; it follows '
                       'model.num_frames'):
        ContiguousClipSample()


@pytest.mark.parametrize('value', [0, 2.5, '3', True])
def test_a_clip_length_that_is_no_positive_int_is_one_line(value):
    with pytest.raises(UserError) as err:
        clip_length(value, dict(), None)
    assert str(err.value) == \
        f'model.num_frames must be an int >= 1, got {value!r}'
