"""Images as pseudo-videos: MaskRandomAffine, ImageAsClip with T frames,
ImagesAsPseudoVideos and the configs mixing them with videos."""
import copy
import json
import os.path as osp
import random

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmdet.registry import DATA_SAMPLERS, DATASETS, MODELS, TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from scipy.ndimage import binary_dilation

import mmvis_clip  # noqa: F401
from mmvis_clip.datasets.synthetic import SYNTHETIC_VIS_CLASSES
from mmvis_clip.engine.clip_length import apply_clip_length
from mmvis_clip.engine.config_checks import apply_data_root
from mmvis_clip.utils.user_errors import UserError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STC_MIX = osp.join(REPO, 'configs', 'stc',
                   'stc_r18_fpn_coco-pseudo-video-mix_1xb4-8e_synthetic.py')
CICO_MIX = osp.join(
    REPO, 'configs', 'cico',
    'cico-yolact_r18_fpn_coco-pseudo-video-mix_1xb4-8e_synthetic.py')
H, W = 40, 60
# (x0, y0, x1, y1) rectangles: label, id = index; the last one near the
# right border
RECTS = [(5, 5, 20, 18), (25, 20, 40, 35), (50, 8, 58, 16)]


def _image_sample():
    """A loaded, annotated image as mmdet's image pipeline gives it."""
    masks = np.zeros((len(RECTS), H, W), dtype=np.uint8)
    for i, (x0, y0, x1, y1) in enumerate(RECTS):
        masks[i, y0:y1, x0:x1] = 1
    img = np.random.RandomState(0).randint(0, 255, (H, W, 3), np.uint8)
    return dict(
        img=img,
        img_id=7,
        img_path='img.jpg',
        ori_shape=(H, W),
        img_shape=(H, W),
        scale_factor=(1., 1.),
        flip=False,
        flip_direction=None,
        gt_bboxes=HorizontalBoxes(np.array(RECTS, dtype=np.float32)),
        gt_bboxes_labels=np.array([2, 0, 1]),
        gt_ignore_flags=np.array([False, False, False]),
        gt_masks=BitmapMasks(masks, H, W),
        instances=[dict(bbox=list(r), bbox_label=0) for r in RECTS])


def _source():
    """Masks (N, H, W) and labels (N, ) of the sample, by instance id."""
    sample = _image_sample()
    return dict(
        masks=sample['gt_masks'].masks, labels=sample['gt_bboxes_labels'])


def _seed(seed):
    """Seed the generators mmdet's random transforms draw from."""
    random.seed(seed)
    np.random.seed(seed)


def _tight_boxes(masks):
    """(N, 4) x0, y0, x1 + 1, y1 + 1 of each mask, from the pixels."""
    boxes = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.array(boxes, dtype=np.float32).reshape(-1, 4)


def _warp_nearest(mask, matrix, height, width):
    """``mask`` warped by ``matrix`` (source -> output coordinates, pixel
    ``(i, j)`` covering ``[j, j + 1) x [i, i + 1)`` as mmdet's recorded
    matrices of Resize and RandomFlip take it): each output pixel takes
    the source pixel under its mapped centre (NumPy, independent of
    OpenCV)."""
    ys, xs = np.mgrid[0:height, 0:width]
    points = np.stack([xs.ravel() + .5, ys.ravel() + .5, np.ones(xs.size)])
    src = np.linalg.inv(matrix.astype(np.float64)) @ points
    sx = np.floor(src[0] / src[2]).astype(int)
    sy = np.floor(src[1] / src[2]).astype(int)
    inside = (sx >= 0) & (sx < mask.shape[1]) & (sy >= 0) & (
        sy < mask.shape[0])
    out = np.zeros(xs.size, dtype=bool)
    out[inside] = mask[sy[inside], sx[inside]].astype(bool)
    return out.reshape(height, width)


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def _check_frame(frame_masks, boxes, ids, labels, source, matrix,
                 tolerance_px=1, min_iou=0.):
    """Every box is its mask's tight box, every label its source's, every
    mask the affine image of its source mask: each of its pixels within
    ``tolerance_px`` of the exact image and back (OpenCV's warp takes
    pixel centres at integer coordinates and rounds in fixed point), and
    their IoU at least ``min_iou``."""
    masks = frame_masks.masks.astype(bool)
    assert len(masks) == len(boxes) == len(ids) == len(labels)
    assert len(set(ids.tolist())) == len(ids)
    np.testing.assert_array_equal(
        np.asarray(boxes.tensor if hasattr(boxes, 'tensor') else boxes),
        _tight_boxes(masks))
    for mask, instance_id, label in zip(masks, ids, labels):
        assert label == source['labels'][instance_id]
        expected = _warp_nearest(source['masks'][instance_id], matrix,
                                 *mask.shape)
        for a, b in ((mask, expected), (expected, mask)):
            near = binary_dilation(b, iterations=tolerance_px)
            assert not (a & ~near).any(), instance_id
        assert _iou(mask, expected) >= min_iou, (instance_id,
                                                 _iou(mask, expected))


def test_mask_random_affine_warps_masks_and_recomputes_boxes():
    affine = TRANSFORMS.build(
        dict(
            type='MaskRandomAffine',
            max_rotate_degree=10.,
            max_translate_ratio=0.1,
            scaling_ratio_range=(0.8, 1.3),
            max_shear_degree=3.))
    source = _source()
    ious = []
    for seed in range(20):
        _seed(seed)
        sample = _image_sample()
        sample['gt_instances_ids'] = np.arange(3)
        out = affine(sample)
        matrix = out['homography_matrix']
        assert out['img'].shape == (H, W, 3)
        assert not np.allclose(matrix, np.eye(3))
        _check_frame(out['gt_masks'], out['gt_bboxes'],
                     out['gt_instances_ids'], out['gt_bboxes_labels'],
                     source, matrix, min_iou=0.85)
        assert len(out['gt_ignore_flags']) == len(out['gt_instances_ids'])
        ious += [
            _iou(m.astype(bool), _warp_nearest(source['masks'][i], matrix,
                                               H, W))
            for m, i in zip(out['gt_masks'].masks, out['gt_instances_ids'])
        ]
    # OpenCV's fixed-point nearest neighbour differs from the exact one on
    # a few boundary pixels only
    assert np.mean(ious) > 0.95


def test_an_instance_that_leaves_the_frame_is_dropped_with_its_id(
        monkeypatch):
    affine = TRANSFORMS.build(dict(type='MaskRandomAffine'))
    shift = np.array([[1, 0, 12], [0, 1, -3], [0, 0, 1]], dtype=np.float32)
    # the centred matrix of a pure translation is the translation
    monkeypatch.setattr(affine, '_get_random_homography_matrix',
                        lambda height, width: shift)
    sample = _image_sample()
    sample['gt_instances_ids'] = np.array([4, 5, 6])
    masks = sample['gt_masks'].masks.copy()
    out = affine(sample)
    # the third rectangle (x 50..58) moves to x 62..70: out of the frame
    assert out['gt_instances_ids'].tolist() == [4, 5]
    assert out['gt_bboxes_labels'].tolist() == [2, 0]
    assert out['gt_ignore_flags'].tolist() == [False, False]
    assert len(out['gt_masks']) == 2
    # an integer shift is exact: masks moved, boxes are theirs
    for i in range(2):
        expected = np.zeros((H, W), dtype=np.uint8)
        expected[:-3, 12:] = masks[i][3:, :-12]  # 12 right, 3 up
        np.testing.assert_array_equal(out['gt_masks'].masks[i], expected)
    np.testing.assert_array_equal(
        out['gt_bboxes'].tensor.numpy(),
        np.array([[17, 2, 32, 15], [37, 17, 52, 32]], dtype=np.float32))
    np.testing.assert_array_equal(out['homography_matrix'], shift)


def test_mask_random_affine_composes_the_homography_matrix():
    affine = TRANSFORMS.build(dict(type='MaskRandomAffine'))
    sample = _image_sample()
    sample['gt_instances_ids'] = np.arange(3)
    before = np.diag([2., 2., 1.]).astype(np.float32)  # e.g. a Resize
    sample['homography_matrix'] = before
    _seed(1)
    out = affine(sample)
    # the recorded matrix is the affine view after the earlier one
    view = out['homography_matrix'] @ np.linalg.inv(before)
    assert not np.allclose(view, np.eye(3))
    _check_frame(out['gt_masks'], out['gt_bboxes'], out['gt_instances_ids'],
                 out["gt_bboxes_labels"], _source(), view, min_iou=0.85)


@pytest.mark.parametrize('num_frames, flags', [(1, [True]),
                                               (2, [True, False]),
                                               (3, [False, True, False]),
                                               (4, [False, True, False,
                                                    False])])
def test_image_as_clip_key_frame_flags(num_frames, flags):
    clip = TRANSFORMS.build(dict(type='ImageAsClip', num_frames=num_frames))(
        _image_sample())
    assert clip['key_frame_flags'] == flags
    assert clip['frame_id'] == list(range(num_frames))
    for key in ('img', 'gt_masks', 'gt_bboxes', 'instances', 'img_id'):
        assert len(clip[key]) == num_frames
    # no frame transform: identical frames
    for t in range(num_frames):
        np.testing.assert_array_equal(clip['img'][t], _image_sample()['img'])
        assert clip['gt_instances_ids'][t].tolist() == [0, 1, 2]
        # boxes as LoadTrackAnnotations gives them: float32 (n, 4) arrays
        assert clip['gt_bboxes'][t].dtype == np.float32
        np.testing.assert_array_equal(clip['gt_bboxes'][t], RECTS)


def test_image_as_clip_one_frame_is_the_image():
    sample = _image_sample()
    clip = TRANSFORMS.build(dict(type='ImageAsClip'))(sample)
    reference = _image_sample()
    for key in reference:
        assert len(clip[key]) == 1
    np.testing.assert_array_equal(clip['img'][0], reference['img'])
    np.testing.assert_array_equal(clip['gt_masks'][0].masks,
                                  reference['gt_masks'].masks)
    assert clip['gt_instances_ids'][0].dtype == np.int32
    packed = TRANSFORMS.build(dict(type='PackTrackInputs'))(clip)
    frame = packed['data_samples'].video_data_samples[0]
    # the image's raw annotations are one frame's meta information
    assert len(frame.instances) == 3
    assert packed['data_samples'].key_frames_inds == [0]


def test_cico_coco_pretraining_pipeline_packs_images(tiny_root):
    """The image pre-training config's pipeline (LoadAnnotations' box
    structures, images of several instances) packs 1-frame clips."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'cico',
                 'cico-yolact_swin-t-p4-w7_fpn_8xb8-12e_coco.py'))
    dataset = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=tiny_root,
            ann_file='annotations/train_cocovid.json',
            data_prefix=dict(img='train/JPEGImages/'),
            metainfo=dict(classes=SYNTHETIC_VIS_CLASSES),
            pipeline=cfg.train_dataloader.dataset.pipeline))
    index = next(i for i in range(len(dataset))
                 if len(dataset.get_data_info(i)['instances']) > 1)
    sample = dataset[index]
    frame, = sample['data_samples'].video_data_samples
    num = len(dataset.get_data_info(index)['instances'])
    assert frame.gt_instances.instances_ids.tolist() == list(range(num))
    assert frame.gt_instances.bboxes.dtype == torch.float32
    assert sample['data_samples'].key_frames_inds == [0]


def test_pseudo_video_frames_keep_ids_masks_and_boxes_consistent():
    transform = TRANSFORMS.build(
        dict(
            type='ImageAsClip',
            num_frames=5,
            frame_transform=dict(
                type='MaskRandomAffine', max_translate_ratio=0.15)))
    source = _source()
    _seed(0)
    for _ in range(10):
        clip = transform(_image_sample())
        assert clip['key_frame_flags'] == [False, False, True, False, False]
        matrices = clip['homography_matrix']
        assert len({m.tobytes() for m in matrices}) == 5  # own draws
        for t in range(5):
            ids = clip['gt_instances_ids'][t]
            assert set(ids.tolist()) <= {0, 1, 2}
            _check_frame(clip['gt_masks'][t], clip['gt_bboxes'][t], ids,
                         clip['gt_bboxes_labels'][t], source, matrices[t],
                         min_iou=0.8)
            assert clip['img'][t].shape == (H, W, 3)
        # the two large rectangles never leave a frame: same ids on every
        # frame
        assert all({0, 1} <= set(ids.tolist())
                   for ids in clip['gt_instances_ids'])


@pytest.fixture(scope='module')
def tiny_root(make_tiny_synthetic):
    return make_tiny_synthetic(num_videos=3, num_frames=4, seed=2)


def _mix_cfg(path, root):
    cfg = Config.fromfile(path)
    apply_data_root(cfg, root)
    apply_clip_length(cfg)  # as tools/train.py: CiCo's clips
    return cfg


def _ann_masks(root):
    """Frame file name -> [(label, mask (H, W))] of its annotations in the
    train CocoVID json, in json order (the order CocoDataset loads)."""
    with open(osp.join(root, 'annotations', 'train_cocovid.json')) as f:
        cocovid = json.load(f)
    images = {im['id']: im for im in cocovid['images']}
    masks = {}
    for ann in cocovid['annotations']:
        image = images[ann['image_id']]
        segm = dict(ann['segmentation'])
        segm['counts'] = segm['counts'].encode()
        masks.setdefault(image['file_name'], []).append(
            (ann['category_id'] - 1, mask_utils.decode(segm)))
    return masks


@pytest.mark.parametrize('path, num_frames, key', [(STC_MIX, 2, [0]),
                                                   (CICO_MIX, 3, [1])])
def test_mix_config_pseudo_videos_match_the_video_layout(
        tiny_root, path, num_frames, key):
    cfg = _mix_cfg(path, tiny_root)
    assert cfg.classes == SYNTHETIC_VIS_CLASSES
    assert cfg.model == Config.fromfile(
        path.replace('_coco-pseudo-video-mix', '')).model
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    videos, images = dataset.datasets
    assert type(images).__name__ == 'ImagesAsPseudoVideos'
    num_images = sum(
        len(videos.get_data_info(v)['images']) for v in range(len(videos)))
    assert len(images) == num_images  # every train frame with instances
    _seed(0)
    video = dataset[0]
    pseudo = dataset[len(videos)]
    assert video['inputs'].shape[:2] == pseudo['inputs'].shape[:2] == (
        num_frames, 3)
    assert video['inputs'].dtype == pseudo['inputs'].dtype
    track = pseudo['data_samples']
    assert track.key_frames_inds == key
    assert track.ref_frames_inds == [
        t for t in range(num_frames) if t not in key
    ]
    assert len(video['data_samples'].key_frames_inds) == 1
    video_frame = video['data_samples'].video_data_samples[0]
    frames = track.video_data_samples
    for frame in frames:
        gt, video_gt = frame.gt_instances, video_frame.gt_instances
        assert set(gt.keys()) == set(video_gt.keys())
        for field in gt.keys():
            assert type(gt[field]) is type(video_gt[field]), field
            if isinstance(gt[field], torch.Tensor):
                assert gt[field].dtype == video_gt[field].dtype, field
        assert set(video_frame.metainfo) - set(frame.metainfo) <= {
            'video_id', 'video_length', 'ori_video_length'
        }
        assert frame.img_shape == frames[0].img_shape
    assert {f.img_path for f in frames} == {
        images.get_data_info(0)['images'][0]['img_path']
    }


def test_images_alone_take_the_video_batch_sampler(tiny_root):
    """Training on images only: DefaultSampler and the video configs'
    TrackAspectRatioBatchSampler."""
    images = DATASETS.build(_mix_cfg(STC_MIX, tiny_root).pseudo_videos)
    sampler = DATA_SAMPLERS.build(
        dict(type='DefaultSampler', shuffle=True, seed=0),
        default_args=dict(dataset=images))
    batches = list(
        DATA_SAMPLERS.build(
            dict(type='TrackAspectRatioBatchSampler', batch_size=4),
            default_args=dict(sampler=sampler)))
    assert sorted(i for batch in batches for i in batch) == list(
        range(len(images)))
    assert images[batches[0][0]]['data_samples'].key_frames_inds == [0]


@pytest.mark.parametrize('path', [STC_MIX, CICO_MIX])
def test_mix_config_pseudo_video_masks_are_views_of_the_source(
        tiny_root, path):
    """On the synthetic frames: each frame's masks are the source masks
    warped by the frame's recorded matrix (Resize, RandomFlip and the
    affine view), each box its mask's tight box, ids and labels the
    source's on every frame."""
    cfg = _mix_cfg(path, tiny_root)
    images_cfg = copy.deepcopy(cfg.pseudo_videos)
    images_cfg.pipeline = [
        dict(type='PackTrackInputs', meta_keys=('homography_matrix', ))
    ]
    images = DATASETS.build(images_cfg)
    source_masks = _ann_masks(tiny_root)
    _seed(0)
    checked = 0
    for index in range(len(images)):
        info = images.get_data_info(index)['images'][0]
        anns = source_masks[osp.relpath(
            info['img_path'], osp.join(tiny_root, 'train/JPEGImages'))]
        source = dict(
            masks=np.stack([m for _, m in anns]),
            labels=np.array([label for label, _ in anns]))
        for frame in images[index]['data_samples'].video_data_samples:
            gt = frame.gt_instances
            _check_frame(gt.masks, gt.bboxes, gt.instances_ids.numpy(),
                         gt.labels.numpy(), source, frame.homography_matrix,
                         min_iou=0.9)
            checked += len(gt)
    assert checked > 0


def test_mix_sampler_realises_the_ratio(tiny_root):
    cfg = _mix_cfg(STC_MIX, tiny_root)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    sampler = DATA_SAMPLERS.build(
        cfg.train_dataloader.sampler,
        default_args=dict(dataset=dataset, seed=0))
    num_videos = len(dataset.datasets[0])
    assert len(sampler) == len(dataset)
    draws = []
    for epoch in range(300):
        sampler.set_epoch(epoch)
        draws += list(sampler)
    share = np.mean(np.array(draws) >= num_videos)
    ratio = cfg.mix_ratio
    expected = ratio[1] / sum(ratio)
    # within 4 binomial standard deviations
    assert abs(share - expected) < 4 * np.sqrt(
        expected * (1 - expected) / len(draws)), share
    # every image and every video is drawn
    assert set(draws) == set(range(len(dataset)))


def test_image_json_with_other_class_order_is_refused(tiny_root, tmp_path):
    with open(osp.join(tiny_root, 'annotations', 'train_cocovid.json')) as f:
        cocovid = json.load(f)
    cocovid['categories'] = cocovid['categories'][::-1]
    ann_file = str(tmp_path / 'reordered.json')
    with open(ann_file, 'w') as f:
        json.dump(cocovid, f)
    cfg = _mix_cfg(STC_MIX, tiny_root)
    images = copy.deepcopy(cfg.pseudo_videos)
    images.dataset.ann_file = ann_file
    with pytest.raises(UserError) as err:
        DATASETS.build(images)
    assert ann_file in str(err.value) and 'orders them' in str(err.value)
    cocovid['categories'] = [
        c for c in cocovid['categories'] if c['name'] != 'ring'
    ]
    with open(ann_file, 'w') as f:
        json.dump(cocovid, f)
    with pytest.raises(UserError, match=r"lacks the classes \['ring'\]"):
        DATASETS.build(images)
    images.dataset.ann_file = osp.join(tiny_root, 'annotations',
                                       'train_cocovid.json')
    images.dataset.pipeline.append(dict(type='PackDetInputs'))
    with pytest.raises(UserError, match='packs with PackDetInputs'):
        DATASETS.build(images)


def test_mix_refuses_images_of_other_classes(tiny_root):
    cfg = _mix_cfg(STC_MIX, tiny_root)
    mix = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    assert mix.metainfo['classes'] == SYNTHETIC_VIS_CLASSES
    other = copy.deepcopy(cfg.train_dataloader.dataset)
    other.datasets[1].dataset.metainfo = dict(
        classes=SYNTHETIC_VIS_CLASSES[:-1])
    with pytest.raises(ValueError, match='2-th dataset does not match'):
        DATASETS.build(other)


@pytest.mark.parametrize('path', [STC_MIX, CICO_MIX])
def test_one_loss_step_on_a_mixed_batch(tiny_root, path):
    cfg = _mix_cfg(path, tiny_root)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    num_videos = len(dataset.datasets[0])
    _seed(0)
    batch = pseudo_collate([dataset[0], dataset[num_videos]])
    if 'stc' in osp.basename(path):
        from test_stc_model import tiny_model_cfg
        model_cfg = tiny_model_cfg()
    else:
        from test_cico_model import tiny_model_cfg
        model_cfg = tiny_model_cfg(path)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.train()
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
