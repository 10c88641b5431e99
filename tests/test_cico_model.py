"""The CiCo model: configs, training losses, 2D->3D initialisation and
clip-by-clip inference."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from amp_checks import bf16_step_bad_parameters
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from scripted_frames import H, W, draw, frame_sample

import mmvis_clip  # noqa: F401
from mmvis_clip.engine.clip_length import apply_clip_length
from mmvis_clip.models.utils import clip_ground_truth

register_all_modules()

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', 'configs', 'cico')
SYNTHETIC = {
    'yolact': osp.join(CONFIG_DIR, 'cico-yolact_r18_fpn_1xb4-8e_synthetic.py'),
    'condinst': osp.join(CONFIG_DIR,
                         'cico-condinst_r18_fpn_1xb4-8e_synthetic.py'),
}
FIFO = osp.join(CONFIG_DIR, 'cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py')
COLOURS = {0: (200, 40, 40), 1: (40, 200, 40), 2: (40, 40, 200)}


def tiny_model_cfg(path):
    """A synthetic CiCo config shrunk further: ResNet-18 of width 16."""
    cfg = Config.fromfile(path).model
    cfg.backbone.base_channels = 16
    cfg.neck.update(in_channels=[16, 32, 64, 128], out_channels=32)
    cfg.bbox_head.update(in_channels=32, feat_channels=32, embed_dim=16)
    cfg.mask_head.update(in_channels=32, feat_channels=32)
    return cfg


def paint(boxes, labels):
    return draw(boxes, [COLOURS[label] for label in labels])


def moving_clip(num_frames, start=0):
    """Two objects moving right; object 2 leaves after frame 3."""
    frames = []
    for t in range(start, start + num_frames):
        boxes = [[8 + 4 * t, 10, 38 + 4 * t, 40]]
        labels, ids = [0], [1]
        if t < 4:
            boxes.append([60, 30 + 2 * t, 88, 56 + 2 * t])
            labels.append(1)
            ids.append(2)
        frames.append((boxes, labels, ids))
    return frames


def training_batch(num_frames=3):
    inputs, samples = [], []
    for v, start in enumerate((0, 2)):
        frames = moving_clip(num_frames, start)
        inputs.append(
            torch.from_numpy(
                np.stack([paint(b, lab) for b, lab, _ in frames])))
        track = TrackDataSample()
        track.video_data_samples = [
            frame_sample(b, lab, i, start + t, f'v{v}')
            for t, (b, lab, i) in enumerate(frames)
        ]
        track.set_metainfo(
            dict(
                key_frames_inds=[num_frames // 2],
                ref_frames_inds=[
                    t for t in range(num_frames) if t != num_frames // 2
                ]))
        samples.append(track)
    return dict(inputs=inputs, data_samples=samples)


def train_tiny(path, steps=12):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(path))
    model.init_weights()
    model.train()
    data = model.data_preprocessor(training_batch(), training=True)
    optim = torch.optim.Adam(model.parameters(), lr=0.001)

    def losses():
        torch.manual_seed(1)  # same positive subsets
        return model.loss(**copy.deepcopy(data))

    with torch.no_grad():
        before = {k: v.item() for k, v in losses().items()}
    for step in range(steps):
        torch.manual_seed(100 + step)
        loss = sum(model.loss(**copy.deepcopy(data)).values())
        optim.zero_grad()
        loss.backward()
        optim.step()
    with torch.no_grad():
        after = {k: v.item() for k, v in losses().items()}
    return model, before, after


@pytest.fixture(scope='module')
def trained_yolact():
    return train_tiny(SYNTHETIC['yolact'])


@pytest.mark.parametrize('variant', ['yolact', 'condinst'])
def test_every_loss_term_decreases(variant, trained_yolact):
    _, before, after = (
        trained_yolact
        if variant == 'yolact' else train_tiny(SYNTHETIC[variant]))
    assert set(before) == {
        'loss_cls', 'loss_bbox', 'loss_iou', 'loss_centerness', 'loss_track',
        'loss_mask'
    }
    for name in before:
        assert np.isfinite(before[name]) and np.isfinite(after[name])
        assert after[name] < before[name], (name, before[name], after[name])
    assert before['loss_track'] > 0 and before['loss_mask'] > 0


def test_clip_ground_truth_gathers_objects_over_frames():
    frames = [
        frame_sample(b, lab, i, t, 'v')
        for t, (b, lab, i) in enumerate(moving_clip(5, start=1))
    ]
    gts = clip_ground_truth(frames)
    assert gts.instances_ids.tolist() == [1, 2]
    assert gts.labels.tolist() == [0, 1]
    # object 2 is present in frames 1..3 of the video = clip frames 0..2
    assert gts.valid.tolist() == [[True] * 5, [True] * 3 + [False] * 2]
    assert gts.bboxes[0, 2].tolist() == [8 + 12, 10, 38 + 12, 40]
    assert gts.bboxes[1, 4].tolist() == [0, 0, 0, 0]
    assert gts.masks.shape == (2, 5, H, W)
    assert int(gts.masks[0, 0].sum()) == 30 * 30
    assert int(gts.masks[1, 3].sum()) == 0
    frames[1].gt_instances.labels = torch.tensor([2, 1])
    with pytest.raises(ValueError, match='instance 1 changes category'):
        clip_ground_truth(frames)


def test_clip_inference_writes_every_frame_once(trained_yolact):
    model = trained_yolact[0]
    model.eval()
    model.bbox_head.test_cfg['score_thr'] = 0.0
    model.bbox_head.test_cfg['max_per_clip'] = 4
    frames = moving_clip(5)
    inputs = torch.from_numpy(
        np.stack([paint(b, lab) for b, lab, _ in frames]))[None]
    video = TrackDataSample()
    video.video_data_samples = [
        frame_sample(b, lab, i, t, 'v') for t, (b, lab, i) in enumerate(frames)
    ]
    backbone_frames = []
    hook = model.backbone.register_forward_hook(
        lambda module, args, out: backbone_frames.append(args[0].size(0)))
    try:
        with torch.no_grad():
            data = model.data_preprocessor(
                dict(inputs=[inputs[0]], data_samples=[video]), False)
            out = model.predict(**copy.deepcopy(data))
            # the same without reusing the overlap frame's features
            extract = model.extract_clip_feat
            model.extract_clip_feat = lambda clips, frame_ids=None: extract(
                clips)
            uncached = model.predict(**copy.deepcopy(data))
    finally:
        hook.remove()
        model.__dict__.pop('extract_clip_feat', None)
    # 5 frames, T = 3, To = 1: clips [0, 1, 2] and [2, 3, 4]; the backbone
    # runs once per video frame (frame 2's features are kept), then 3 + 3
    # times without the cache
    assert backbone_frames == [3, 2, 3, 3]
    for t in range(5):
        a = out[0][t].pred_track_instances
        b = uncached[0][t].pred_track_instances
        assert torch.equal(a.masks, b.masks)
        assert torch.allclose(a.bboxes, b.bboxes, atol=1e-5)
        assert torch.equal(a.instances_id, b.instances_id)
    ids_per_frame = []
    for t in range(5):
        pred = out[0][t].pred_track_instances
        assert 0 < len(pred) <= 4
        assert pred.masks.shape[1:] == (2 * H, 2 * W)  # original size
        assert pred.masks.dtype == torch.bool
        # each frame's result owns its memory (not a view of the clip's)
        assert pred.masks.untyped_storage().nbytes() == pred.masks.numel()
        assert pred.bboxes.shape == (len(pred), 4)
        ids_per_frame.append(sorted(pred.instances_id.tolist()))
    # a clip's objects are in each of its frames; the overlap frame 2 is
    # written from the later clip
    assert ids_per_frame[0] == ids_per_frame[1]
    assert ids_per_frame[2] == ids_per_frame[3] == ids_per_frame[4]


def test_configs():
    paths = sorted(glob.glob(osp.join(CONFIG_DIR, 'cico-*_4xb6-12e_*.py')))
    assert len(paths) == 18  # 2 variants x 3 backbones x 3 datasets
    for path in paths:
        cfg = Config.fromfile(path)
        # the clip length has one owner, model.num_frames, which the
        # training clips follow (the model's parts follow it in CiCo)
        assert cfg.model.num_frames == 3
        assert 'num_frames' not in cfg.model.bbox_head
        assert 'clip_len' not in cfg.model.tracker
        assert apply_clip_length(cfg) == [
            'train_dataloader.dataset.pipeline.0.num_frames'
        ]
        name = osp.basename(path)
        assert cfg.default_scope == 'mmdet', name
        assert cfg.custom_imports.imports == ['mmvis_clip'], name
        head, mask = cfg.model.bbox_head, cfg.model.mask_head
        assert (head.cls_tower_3d, head.box_tower_3d,
                head.track_tower_3d) == (False, True, True), name
        assert mask.conv_3d, name
        assert cfg.train_dataloader.dataset.pipeline[0] == dict(
            type='ContiguousClipSample', num_frames=3), name
        assert cfg.model.tracker.overlap == 1
        assert cfg.model.test_cfg.score_thr == 0.1, name
        assert cfg.optim_wrapper.optimizer.lr == 0.001, name
        # where the paper is silent, the public code's recipe
        assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4, name
        assert cfg.optim_wrapper.clip_grad is None, name
        assert cfg.param_scheduler[0].end == 500, name
        assert cfg.param_scheduler[0].start_factor == 0.1, name
        frame_steps = cfg.train_dataloader.dataset.pipeline[1].transforms
        zoom = next(t for t in frame_steps if t.type == 'RandomResize')
        assert zoom.ratio_range == (0.5, 1.5), name
        assert head.per_frame_rows, name
        assert head.loss_bbox.beta == 1.0, name
        assert head.loss_iou.type == 'DIoULoss', name
        assert cfg.model.tracker.on_conflict == 'drop', name
        assert cfg.param_scheduler[1].milestones == [8, 10], name
        assert cfg.train_cfg.max_epochs == 12, name
        assert cfg.train_dataloader.batch_size == 6, name
        assert cfg.load_from, name
        generator = mask.mask_generator
        if 'yolact' in name:
            assert (generator.type,
                    generator.num_protos) == ('YolactClipMaskGenerator',
                                              32), name
        else:
            assert (generator.type,
                    generator.num_protos) == ('CondInstClipMaskGenerator',
                                              8), name
        num_classes = 25 if name.endswith('_ovis.py') else 40
        assert head.num_classes == num_classes, name
        if 'swin' in name:
            assert cfg.model.backbone.type == 'SwinTransformer', name
    for variant in ('yolact', 'condinst'):
        fifo = Config.fromfile(
            osp.join(CONFIG_DIR,
                     f'cico-{variant}_r18_fpn_fifo_1xb4-8e_synthetic.py'))
        assert fifo.model.num_frames == 1
        apply_clip_length(fifo)
        assert fifo.train_dataloader.dataset.pipeline[0].num_frames == 1
        assert fifo.model.tracker.overlap == 0
        assert not fifo.model.mask_head.conv_3d
        pre = Config.fromfile(
            osp.join(CONFIG_DIR,
                     f'cico-{variant}_swin-t-p4-w7_fpn_8xb8-12e_coco.py'))
        assert pre.model.backbone.type == 'SwinTransformer'
        assert not pre.model.bbox_head.box_tower_3d
        assert pre.model.num_frames == 1
        apply_clip_length(pre)
        assert {
            'type': 'ImageAsClip',
            'num_frames': 1
        } in pre.train_dataloader.dataset.pipeline


def test_synthetic_finetune_configs_share_init_and_budget():
    """The 4e synthetic configs: CiCo (the defaults and the published
    recipe) and its FiFo baseline start from the same frame-level checkpoint
    and differ from their 8e configs only in ``load_from`` and the schedule,
    and the CiCo defaults in the three keys chosen on this data (time-mean
    row, matcher radius 0, mask loss x6.125)."""
    for variant in ('yolact', 'condinst'):
        producer = Config.fromfile(
            osp.join(CONFIG_DIR,
                     f'cico-{variant}_r18_fpn_fifo_1xb4-8e_synthetic.py'))
        # tools/train.py's default work dir and mmengine's last checkpoint
        assert producer.train_cfg.max_epochs == 8
        assert 8 % producer.default_hooks.checkpoint.interval == 0
        schedules = []
        for kind in ('', 'paper-recipe_', 'fifo_'):
            cfg = Config.fromfile(
                osp.join(CONFIG_DIR,
                         f'cico-{variant}_r18_fpn_{kind}1xb4-4e_synthetic.py'))
            scratch = Config.fromfile(
                osp.join(
                    CONFIG_DIR, f'cico-{variant}_r18_fpn_'
                    f'{"fifo_" if kind == "fifo_" else ""}'
                    '1xb4-8e_synthetic.py'))
            assert cfg.load_from == (f'work_dirs/cico-{variant}_r18_fpn_fifo_'
                                     '1xb4-8e_synthetic/epoch_8.pth')
            if kind == '':
                expected = copy.deepcopy(scratch.model)
                expected.bbox_head.per_frame_rows = False
                expected.train_cfg.match_radius = 0
                expected.mask_head.mask_generator.loss_weight = 6.125
                assert scratch.model.bbox_head.per_frame_rows
                assert scratch.model.train_cfg.match_radius == 1
                assert scratch.model.mask_head.mask_generator.loss_weight \
                    == 6.125 * 3
                assert cfg.model == expected
            else:
                assert cfg.model == scratch.model
            assert cfg.train_dataloader == scratch.train_dataloader
            assert cfg.optim_wrapper == scratch.optim_wrapper
            assert cfg.train_cfg.max_epochs == 4
            warmup, steps = cfg.param_scheduler
            assert warmup == scratch.param_scheduler[0]
            assert (steps.end, steps.milestones) == (4, [3])
            schedules.append((cfg.train_cfg, cfg.param_scheduler))
        assert schedules[0] == schedules[1] == schedules[2]


@pytest.mark.parametrize('variant', ['yolact', 'condinst'])
def test_bf16_autocast_step_has_finite_gradients(variant):
    """What ``--amp`` does, on CPU: the losses under bfloat16 autocast give
    finite gradients for every parameter (the tracking loss's unused
    log(0) branch made them NaN)."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(SYNTHETIC[variant]))
    model.init_weights()
    model.train()
    data = model.data_preprocessor(training_batch(), training=True)
    assert bf16_step_bad_parameters(model, data) == []


@pytest.mark.parametrize('variant', ['yolact', 'condinst'])
def test_carried_masks_are_cropped_by_the_trackers_box_only(variant):
    # the tracker hands the renderer its box already enlarged (1.2x, the
    # public code's Naive_Tacker); the renderer must crop by exactly that
    # box, not by the mask head's test crop (1.1x / 1.5x, sides >= 0.1 of
    # the image) on top of it
    model = MODELS.build(tiny_model_cfg(SYNTHETIC[variant])).eval()
    head = model.mask_head
    assert head.proto_stride == 4
    gen = head.mask_generator
    # prototypes and parameters whose logits are large everywhere
    if variant == 'yolact':
        protos = torch.ones(gen.num_protos, 3, 16, 24)
        params = torch.full((1, gen.num_protos), 10.)
    else:
        protos = torch.zeros(gen.num_protos, 3, 16, 24)
        params = torch.zeros(1, gen.num_params)
        params[0, -1] = 10.  # the last layer's bias
        gen.params_tanh = False  # so that the logit is 10, not tanh(10)
    meta = dict(img_shape=(64, 96), ori_shape=(64, 96),
                scale_factor=(1., 1.))
    render = model.mask_renderer(protos, meta, rescale=True)
    with torch.no_grad():
        masks = render(params, torch.tensor([[20., 12., 52., 40.]]))
    assert masks.shape == (1, 3, 64, 96)
    # by hand: the crop covers mask columns floor(20 / 4) - 1 = 4 to
    # floor(52 / 4) + 1 = 14 (exclusive), rows 2 to 11; bilinear x4
    # (align_corners=False) puts the 0.5 crossing of columns 3 | 4 at
    # input x = 15.5 and of 13 | 14 at x = 55.5: columns 16..55, rows
    # 8..43; at the four corner pixels both weights are 0.625 and the
    # product 0.39 < 0.5 (one pixel in: 0.625 * 0.875 = 0.55)
    expected = torch.zeros(64, 96, dtype=torch.bool)
    expected[8:44, 16:56] = True
    expected[[8, 8, 43, 43], [16, 55, 16, 55]] = False
    for t in range(3):
        assert torch.equal(masks[0, t], expected), t


@pytest.mark.parametrize('dup_rule', ['per_class_frame', 'class_agnostic_box'])
def test_clip_detections_equal_clip_nms_on_every_candidates_mask(
        trained_yolact, dup_rule):
    # predict_clip renders low-resolution masks only for the candidates
    # that pass the tests needing no mask; the kept detections must be
    # those of clip_nms given every candidate's mask
    from mmvis_clip.models.layers.clip_nms import clip_nms
    model = trained_yolact[0].eval()
    cfg = model.bbox_head.test_cfg
    cfg.update(score_thr=0.05, dup_rule=dup_rule, max_per_clip=None)
    frames = moving_clip(3)
    inputs = torch.from_numpy(
        np.stack([paint(b, lab) for b, lab, _ in frames]))[None]
    samples = [frame_sample(b, lab, i, t, 'v')
               for t, (b, lab, i) in enumerate(frames)]
    video = TrackDataSample()
    video.video_data_samples = samples
    data = model.data_preprocessor(
        dict(inputs=[inputs[0]], data_samples=[video]), False)
    clip = data['inputs'][0][None]
    frames_meta = data['data_samples'][0].video_data_samples
    rendered = []
    proto_masks = model.mask_head.proto_masks
    model.mask_head.proto_masks = lambda p, params, boxes: (
        rendered.append(len(params)) or proto_masks(p, params, boxes))
    try:
        with torch.no_grad():
            dets = model.predict_clip(clip, frames_meta, rescale=False)
            cubes = model.extract_clip_feat(clip)
            meta = frames_meta[0].metainfo
            cands = model.bbox_head.predict(cubes, [meta])[0]
            protos = model.mask_head(cubes)[0]
            all_masks = proto_masks(protos, cands.params, cands.clip_bboxes)
    finally:
        model.mask_head.__dict__.pop('proto_masks')
    keep = clip_nms(
        cands.scores, cands.labels, cands.bboxes, cands.clip_bboxes,
        all_masks, frames_meta[0].metainfo['img_shape'],
        model.mask_head.proto_stride, quality=cands.quality,
        score_thr=0.05, dup_rule=dup_rule)
    assert len(keep) > 0
    assert torch.equal(dets.scores, cands.scores[keep])
    assert torch.equal(dets.labels, cands.labels[keep])
    assert rendered[0] < len(cands)  # masks of fewer candidates
