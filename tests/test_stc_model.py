"""The STC model: configs, mask head, training losses and online inference."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from amp_checks import bf16_step_bad_parameters
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData
from scripted_frames import H, W, draw, frame_sample

import mmvis_clip  # noqa: F401
from mmvis_clip.models.heads import STCMaskHead, num_dynamic_params
from mmvis_clip.models.vis.stc import _consistency_pairs, _split_key_ref

register_all_modules()


CONFIG_DIR = osp.join(osp.dirname(__file__), '..', 'configs', 'stc')
SYNTHETIC = osp.join(CONFIG_DIR, 'stc_r18_fpn_1xb4-8e_synthetic.py')


def tiny_model_cfg():
    """The synthetic config shrunk further: ResNet-18 of width 16."""
    cfg = Config.fromfile(SYNTHETIC).model
    det = cfg.detector
    det.backbone.base_channels = 16
    det.neck.in_channels = [16, 32, 64, 128]
    det.neck.out_channels = 32
    # P7 of a 64x96 frame is 1x1: GroupNorm needs > 1 value per group
    gn8 = dict(type='GN', num_groups=8, requires_grad=True)
    det.bbox_head.update(in_channels=32, feat_channels=32, norm_cfg=gn8)
    det.mask_head.mask_feature_head.update(in_channels=32, feat_channels=32)
    cfg.track_head.update(
        in_channels=32, feat_channels=32, embed_dim=16, norm_cfg=gn8)
    return cfg


# two videos: (boxes, labels, ids) of the key and the reference frame
VIDEOS = [
    ([[10, 10, 40, 40],
      [50, 20, 85, 55]], [0, 1], [1, 2], [[14, 12, 44, 42], [46, 18, 81, 53],
                                          [30, 44, 50, 62]], [0, 1,
                                                              2], [1, 2, 3]),
    ([[20, 30, 60, 60]], [2], [7], [[24, 28, 64, 58], [70, 5, 90,
                                                       25]], [2, 0], [7, 8]),
]
COLOURS = {0: (200, 40, 40), 1: (40, 200, 40), 2: (40, 40, 200)}


def training_batch():
    inputs, samples = [], []
    for v, (kb, kl, ki, rb, rl, ri) in enumerate(VIDEOS):
        key = draw(kb, [COLOURS[label] for label in kl])
        ref = draw(rb, [COLOURS[label] for label in rl])
        inputs.append(torch.from_numpy(np.stack([key, ref])))
        track = TrackDataSample()
        track.video_data_samples = [
            frame_sample(kb, kl, ki, 3, f'v{v}'),
            frame_sample(rb, rl, ri, 5, f'v{v}')
        ]
        track.set_metainfo(dict(key_frames_inds=[0], ref_frames_inds=[1]))
        samples.append(track)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='module')
def trained():
    """A tiny STC and its losses before and after 12 optimizer steps.

    Adam rather than SGD: from a random init the terms differ in scale by
    two orders of magnitude (lambda_c = 10 times a sum over 169 kernel
    parameters), so one SGD learning rate either barely moves the
    detection terms or lets the consistency term dominate the shared box
    tower; Adam's per-parameter step lets every term make progress in a
    dozen steps on the summed loss.
    """
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    model.train()
    data = model.data_preprocessor(training_batch(), training=True)
    optim = torch.optim.Adam(model.parameters(), lr=0.001)

    def losses():
        torch.manual_seed(1)  # same negatives / consistency pairs
        return model.loss(**copy.deepcopy(data))

    with torch.no_grad():
        before = {k: v.item() for k, v in losses().items()}
    for step in range(12):
        torch.manual_seed(100 + step)
        loss = sum(model.loss(**copy.deepcopy(data)).values())
        optim.zero_grad()
        loss.backward()
        optim.step()
    with torch.no_grad():
        after = {k: v.item() for k, v in losses().items()}
    return model, before, after


def test_every_loss_term_decreases(trained):
    _, before, after = trained
    assert set(before) == {
        'loss_cls', 'loss_bbox', 'loss_centerness', 'loss_mask', 'loss_track',
        'loss_consistency'
    }
    for name in before:
        assert np.isfinite(before[name]) and np.isfinite(after[name])
        assert after[name] < before[name], (name, before[name], after[name])
    assert before['loss_track'] > 0 and before['loss_consistency'] > 0


def test_online_predict(trained):
    model, _, _ = trained
    model.eval()
    model.detector.bbox_head.test_cfg.score_thr = 0.0  # force detections
    model.detector.mask_head.test_cfg.score_thr = 0.0
    kb, kl, ki = VIDEOS[0][:3]
    img = torch.from_numpy(draw(kb, [COLOURS[label] for label in kl]))
    track = TrackDataSample()
    track.video_data_samples = [
        frame_sample(kb, kl, ki, f, 'video') for f in range(3)
    ]
    data = model.data_preprocessor(
        dict(inputs=[torch.stack([img] * 3)], data_samples=[track]),
        training=False)
    calls = []
    handle = model.detector.backbone.register_forward_pre_hook(
        lambda _, args: calls.append(tuple(args[0].shape)))
    with torch.no_grad():
        out = model.predict(**data)[0]
    handle.remove()
    # online: one frame per feature extraction
    assert calls == [(1, 3, H, W)] * 3
    for frame_id in range(3):
        frame = out[frame_id]
        pred = frame.pred_track_instances
        n = len(pred)
        assert n == 10  # max_per_img
        assert pred.masks.shape == (n, 2 * H, 2 * W)  # original size
        assert pred.masks.dtype == torch.bool
        assert pred.instances_id.dtype == torch.long
        assert len(set(pred.instances_id.tolist())) == n
        # NMS 0.5 among boxes of the same label
        ious = bbox_overlaps(pred.bboxes, pred.bboxes)
        same = pred.labels[:, None] == pred.labels[None, :]
        off_diag = ~torch.eye(n, dtype=torch.bool)
        assert (ious[same & off_diag] <= 0.5 + 1e-6).all()
        # embeddings are read at box centres in the network input
        with torch.no_grad():
            feats = model.detector.extract_feat(data['inputs'][:, frame_id])
            emb_map = model.track_head(feats)[0]
        expected = model.track_head.embeddings_at_boxes(
            emb_map, frame.pred_instances.bboxes * 0.5)
        assert torch.allclose(
            frame.pred_instances.embeddings, expected, atol=1e-5)
    assert sorted(out[0].pred_track_instances.instances_id.tolist()) == \
        list(range(10))


def test_stc_mask_head_equals_mmdet_for_condinst_setting():
    cfg = dict(
        num_layers=3,
        feat_channels=8,
        mask_out_stride=4,
        size_of_interest=8,
        mask_feature_head=dict(
            in_channels=16,
            feat_channels=16,
            start_level=0,
            end_level=2,
            out_channels=8,
            mask_stride=8,
            num_stacked_convs=1,
            norm_cfg=None),
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, activate=True))
    ours = MODELS.build(dict(type='STCMaskHead', **cfg))
    theirs = MODELS.build(dict(type='CondInstMaskHead', **cfg))
    theirs.load_state_dict(ours.state_dict())
    assert ours.num_params == theirs.num_params == 169
    info = InstanceData(
        param_preds=torch.randn(3, 169),
        points=torch.tensor([[4., 4.], [20., 12.], [36., 28.]]),
        strides=torch.tensor([8., 8., 16.]))
    feat = torch.randn(8, 6, 10)
    assert torch.allclose(
        ours.forward_single(feat, info)[0],
        theirs.forward_single(feat, info)[0],
        atol=1e-5)


def test_stc_mask_head_one_layer_without_coords_is_linear():
    head = STCMaskHead(
        num_layers=1,
        with_coords=False,
        mask_out_stride=8,
        mask_feature_head=dict(
            in_channels=16,
            feat_channels=16,
            start_level=0,
            end_level=0,
            out_channels=4,
            mask_stride=8,
            num_stacked_convs=1),
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, activate=True))
    assert head.num_params == num_dynamic_params(4, 8, 1, False) == 5
    params = torch.randn(2, 5)
    feat = torch.randn(4, 6, 10)
    out = head.forward_single(feat, InstanceData(param_preds=params))[0]
    expected = torch.einsum('nc,chw->nhw', params[:, :4], feat) + \
        params[:, 4, None, None]
    assert torch.allclose(out, expected, atol=1e-5)


def test_num_params_is_checked_and_derived():
    cfg = tiny_model_cfg()
    cfg.detector.mask_head.num_layers = 2
    with pytest.raises(ValueError, match='needs 97'):
        MODELS.build(copy.deepcopy(cfg))
    cfg.detector.bbox_head.num_params = None
    model = MODELS.build(cfg)
    assert model.detector.bbox_head.num_params == 97
    cfg.detector.mask_head.mask_feature_head.out_channels = 16
    cfg.detector.mask_head.with_coords = False
    cfg.detector.bbox_head.num_params = None
    assert MODELS.build(cfg).detector.bbox_head.num_params == 16 * 8 + 8 + \
        8 + 1


def test_loss_rejects_wrong_frame_count():
    model = MODELS.build(tiny_model_cfg())
    with pytest.raises(ValueError, match=r'\(N, 2, C, H, W\)'):
        model.loss(torch.zeros(1, 3, 3, H, W), [TrackDataSample()])


def test_configs():
    paths = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
    assert len(paths) >= 12
    cfgs = {osp.basename(p)[:-3]: Config.fromfile(p) for p in paths}
    for name, cfg in cfgs.items():
        det = cfg.model.detector
        assert cfg.default_scope == 'mmdet', name
        assert cfg.custom_imports.imports == ['mmvis_clip'], name
        assert det.test_cfg.score_thr == 0.03, name
        assert det.test_cfg.nms.iou_threshold == 0.5, name
        assert det.test_cfg.max_per_img == 10, name
        assert cfg.model.tracker.type == 'STCTracker', name
    main = cfgs['stc_r50_fpn_8xb2-12e_youtubevis2019']
    assert main.optim_wrapper.optimizer.lr == 0.005
    assert main.optim_wrapper.optimizer.momentum == 0.9
    assert main.optim_wrapper.optimizer.weight_decay == 0.0001
    assert main.train_cfg.max_epochs == 12
    assert main.param_scheduler[1].milestones == [8, 11]
    assert main.model.track_head.loss_track.loss_weight == 0.2
    assert main.model.loss_consistency.loss_weight == 10.0
    assert main.model.track_head.train_cfg.sampler.num_negatives == 128
    assert 'condinst_r50_fpn_ms-poly-90k_coco_instance' in main.load_from
    no_con = cfgs['stc_r50_fpn_no-contrastive_8xb2-12e_youtubevis2019']
    assert not no_con.model.track_head.contrastive
    assert no_con.model.track_head.loss_track.type == 'CrossEntropyLoss'
    assert not cfgs['stc_r50_fpn_no-bidirection_8xb2-12e_youtubevis2019'] \
        .model.track_head.bidirectional
    assert cfgs['stc_r50_fpn_no-consistency_8xb2-12e_youtubevis2019'] \
        .model.loss_consistency is None
    base = cfgs['stc_r50_fpn_baseline_8xb2-12e_youtubevis2019'].model
    assert not base.track_head.contrastive
    assert not base.track_head.bidirectional and base.loss_consistency is None
    assert cfgs['stc_r50_fpn_8xb2-12e_ovis'].model.detector.bbox_head \
        .num_classes == 25
    assert cfgs['stc_r50_fpn_8xb2-12e_ovis'].train_dataloader.dataset \
        .type == 'OVISDataset'
    assert cfgs['stc_r50_fpn_8xb2-12e_youtubevis2021'].train_dataloader \
        .dataset.dataset_version == '2021'
    assert cfgs['stc_r101_fpn_8xb2-12e_youtubevis2019'].model.detector \
        .backbone.depth == 101
    for name, cfg in cfgs.items():
        if name.endswith('synthetic'):
            model = MODELS.build(cfg.model)
            assert model.detector.bbox_head.num_classes == 6
            # from scratch, except the fixed-detector comparison
            if 'track-head-only' in name:
                assert model.freeze_detector
                assert cfg.load_from.endswith('_detector.pth')
            else:
                assert cfg.load_from is None and not model.freeze_detector


def test_r50_detector_is_mmdet_condinst_with_stc_test_settings():
    """The detector of ``_base_/models/stc_r50_fpn.py`` is mmdet's CondInst
    R50 config but for the listed keys (the file is not inherited from it:
    a full mmdet config would bring its COCO data, 90k-iteration schedule
    and runtime keys into every STC config)."""
    from mmengine.hub import get_config
    ours = Config.fromfile(
        osp.join(CONFIG_DIR, '..', '_base_', 'models',
                 'stc_r50_fpn.py')).model.detector.to_dict()
    theirs = get_config(
        'mmdet::condinst/condinst_r50_fpn_ms-poly-90k_coco_instance.py'
    ).model.to_dict()
    theirs.pop('_scope_', None)
    assert theirs.pop('data_preprocessor')['type'] == 'DetDataPreprocessor'
    assert theirs['backbone'].pop('init_cfg') == dict(
        type='Pretrained', checkpoint='torchvision://resnet50')
    assert ours['backbone'].pop('init_cfg') is None
    assert (theirs['bbox_head'].pop('num_classes'),
            ours['bbox_head'].pop('num_classes')) == (80, 40)
    assert (theirs['mask_head'].pop('type'), ours['mask_head'].pop('type'),
            ours['mask_head'].pop('with_coords')) == ('CondInstMaskHead',
                                                      'STCMaskHead', True)
    for key, theirs_value, ours_value in (('score_thr', 0.05, 0.03),
                                          ('nms',
                                           dict(type='nms', iou_threshold=0.6),
                                           dict(type='nms',
                                                iou_threshold=0.5)),
                                          ('max_per_img', 100, 10)):
        assert theirs['test_cfg'].pop(key) == theirs_value, key
        assert ours['test_cfg'].pop(key) == ours_value, key
    assert ours == theirs


def test_predict_without_detections():
    """Untrained: every score is ~0.01 (focal prior) < 0.03, so frames have
    no detection; outputs are still well-formed at the original size."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    model.eval()
    kb, kl, ki = VIDEOS[1][:3]
    img = torch.from_numpy(draw(kb, [COLOURS[label] for label in kl]))
    track = TrackDataSample()
    track.video_data_samples = [
        frame_sample(kb, kl, ki, f, 'empty') for f in range(2)
    ]
    data = model.data_preprocessor(
        dict(inputs=[torch.stack([img] * 2)], data_samples=[track]),
        training=False)
    with torch.no_grad():
        out = model.predict(**data)[0]
    for frame_id in range(2):
        pred = out[frame_id].pred_track_instances
        assert len(pred) == 0
        assert pred.masks.shape == (0, 2 * H, 2 * W)
        assert pred.bboxes.shape == (0, 4)
        assert pred.instances_id.shape == (0, )
        assert out[frame_id].pred_instances.embeddings.shape == (0, 16)


def test_consistency_pairs_match_the_same_part_of_the_instance():
    # instance 4: key box centre (20, 20) size 20; ref box moved by (+30, 0)
    # and twice as wide. Instance 6 only in the key frame.
    gts = InstanceData(
        bboxes=torch.tensor([[10., 10., 30., 30.], [0., 0., 8., 8.]]),
        instances_ids=torch.tensor([4, 6]))
    ref_gts = InstanceData(
        bboxes=torch.tensor([[30., 10., 70., 30.]]),
        instances_ids=torch.tensor([4]))
    info = InstanceData(
        points=torch.tensor([[15., 20.], [25., 20.], [4., 4.]]),
        gt_inds=torch.tensor([0, 0, 1]),
        param_preds=torch.tensor([[1.], [2.], [3.]]))
    # relative x offsets: ref points at -0.25, 0.25 and 0 of the width
    ref_info = InstanceData(
        points=torch.tensor([[40., 20.], [60., 20.], [50., 20.]]),
        gt_inds=torch.tensor([0, 0, 0]),
        param_preds=torch.tensor([[10.], [20.], [30.]]))
    params, ref_params = _consistency_pairs([info], [ref_info], [gts],
                                            [ref_gts])
    assert params[:, 0].tolist() == [1., 2.]
    assert ref_params[:, 0].tolist() == [10., 20.]


def test_tensor_mode_outputs():
    model = MODELS.build(tiny_model_cfg())
    bbox_outs, mask_feats, embeds = model._forward(torch.zeros(1, 2, 3, H, W))
    assert len(bbox_outs) == 4 and bbox_outs[3][0].shape[:2] == (2, 169)
    assert mask_feats.shape == (2, 8, H // 8, W // 8)
    assert embeds.shape == (2, 16, H // 8, W // 8)


def test_queries_sit_at_predicted_box_centres():
    model = MODELS.build(tiny_model_cfg())
    model.train()
    sizes = [(8, 12), (4, 6), (2, 3), (1, 2), (1, 1)]
    cls = [torch.zeros(1, 6, h, w) for h, w in sizes]
    # (left, top, right, bottom) = (1, 2, 3, 4) strides everywhere
    dist = torch.tensor([1., 2., 3., 4.])[None, :, None, None]
    bbox = [dist.expand(1, 4, h, w) for h, w in sizes]
    params = [torch.randn(1, 169, h, w) for h, w in sizes]
    gts = [
        InstanceData(
            bboxes=torch.tensor([[8., 8., 40., 40.]]),
            labels=torch.tensor([0]))
    ]
    outs = (cls, bbox, cls, params)
    info = model._positive_locations(outs, model._assign(outs, gts))[0]
    assert len(info) > 0 and (info.gt_inds == 0).all()
    # a 32-pixel box is a P3 (stride 8) object: points at 8 j + 4
    assert (info.points % 8 == 4).all()
    # centre = point + ((r - l) / 2, (b - t) / 2) * stride = point + 8
    assert torch.allclose(info.query_points - info.points,
                          torch.full_like(info.points, 8.))
    flat = torch.cat([p[0].flatten(1).t() for p in params])
    pos = [int(y // 8) * 12 + int(x // 8) for x, y in info.points.tolist()]
    assert torch.equal(info.param_preds, flat[pos])


def direct_positive_locations(bbox_head, bbox_outs, batch_gt_instances,
                              training):
    """Positive locations by hand: mmdet's assignment (``get_targets``) on
    points written out per level, each positive read at its (level, y, x)."""
    cls_scores, bbox_preds, _, param_preds = bbox_outs
    points, starts = [], [0]
    for cls_score, stride in zip(cls_scores, bbox_head.strides):
        h, w = cls_score.shape[-2:]
        ys, xs = torch.meshgrid(
            torch.arange(h), torch.arange(w), indexing='ij')
        points.append(
            torch.stack([(xs + 0.5) * stride, (ys + 0.5) * stride],
                        -1).reshape(-1, 2).float())
        starts.append(starts[-1] + h * w)
    _, _, pos_inds_list, gt_inds_list = bbox_head.get_targets(
        points, batch_gt_instances)
    infos = []
    for img, (pos_inds,
              gt_inds) in enumerate(zip(pos_inds_list, gt_inds_list)):
        rows = []
        for index in pos_inds.tolist():
            level = max(i for i, s in enumerate(starts[:-1]) if s <= index)
            stride = bbox_head.strides[level]
            w = cls_scores[level].shape[-1]
            y, x = divmod(index - starts[level], w)
            left, top, right, bottom = bbox_preds[level][img, :, y, x] * (
                stride if training else 1)
            point = torch.tensor([(x + 0.5) * stride, (y + 0.5) * stride])
            rows.append(
                (point, point + torch.stack([right - left, bottom - top]) / 2,
                 param_preds[level][img, :, y, x]))
        infos.append(
            InstanceData(
                points=torch.stack([r[0] for r in rows]),
                query_points=torch.stack([r[1] for r in rows]),
                gt_inds=gt_inds,
                param_preds=torch.stack([r[2] for r in rows])))
    return infos


@pytest.mark.parametrize('training', [True, False])
def test_positive_locations_of_key_and_reference_frames(training):
    """The key frame's positives are loss_by_feat's (get_positive_infos),
    the reference frame's the same assignment run by ``_assign``; both
    match a direct computation location by location, in order."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    model.train(training)
    data = model.data_preprocessor(training_batch(), training=True)
    key_imgs, ref_imgs, key_samples, ref_samples = _split_key_ref(
        data['inputs'], data['data_samples'])
    gts, _, metas = unpack_gt_instances(key_samples)
    ref_gts = unpack_gt_instances(ref_samples)[0]
    head = model.detector.bbox_head
    outs = head(model.detector.extract_feat(key_imgs))
    ref_outs = head(model.detector.extract_feat(ref_imgs))
    head.loss_by_feat(*outs, gts, metas)
    mmdet_infos = head.get_positive_infos()
    key = model._positive_locations(outs, mmdet_infos)
    ref = model._positive_locations(ref_outs, model._assign(ref_outs, ref_gts))

    for infos, frame_outs, frame_gts in ((key, outs, gts), (ref, ref_outs,
                                                            ref_gts)):
        expected = direct_positive_locations(head, frame_outs, frame_gts,
                                             training)
        assert [len(i) for i in infos] == [len(e) for e in expected]
        for info, exp, frame_gt in zip(infos, expected, frame_gts):
            assert len(info) > len(frame_gt)  # several per instance
            assert set(info.gt_inds.tolist()) == set(range(len(frame_gt)))
            assert torch.equal(info.gt_inds, exp.gt_inds)
            assert torch.equal(info.points, exp.points)
            assert torch.equal(info.param_preds, exp.param_preds)
            assert torch.allclose(
                info.query_points, exp.query_points, rtol=0, atol=1e-5)
            # the kernels are trained through; the queries are not
            assert info.param_preds.requires_grad
            assert not info.query_points.requires_grad
    # what the mask head gets: the same locations and kernels
    for info, mmdet_info in zip(key, mmdet_infos):
        assert torch.equal(info.points, mmdet_info.points)
        assert torch.equal(info.param_preds, mmdet_info.param_preds)
    # ``_assign`` on the key frame repeats loss_by_feat's assignment
    for again, mmdet_info in zip(model._assign(outs, gts), mmdet_infos):
        assert torch.equal(again.pos_inds, mmdet_info.pos_inds)
        assert torch.equal(again.pos_assigned_gt_inds,
                           mmdet_info.pos_assigned_gt_inds)


@pytest.mark.parametrize('detach', [False, True])
def test_track_head_detach_features_stops_gradient_at_fpn(detach):
    from mmvis_clip.models.heads import STCTrackHead
    head = STCTrackHead(
        in_channels=4, feat_channels=4, num_convs=1, embed_dim=3,
        detach_features=detach)
    feats = [
        torch.randn(1, 4, 8 // 2**i, 12 // 2**i, requires_grad=True)
        for i in range(3)
    ]
    embeds = head(feats)
    assert embeds.shape == (1, 3, 8, 12)
    embeds.square().sum().backward()
    for feat in feats:
        assert (feat.grad is None) == detach
    # the head's own weights learn either way
    assert head.conv_embed.weight.grad.abs().sum() > 0


def test_freeze_detector_trains_the_tracking_head_only():
    cfg = tiny_model_cfg()
    cfg.freeze_detector = True
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    assert model.training and model.detector.training  # FCOS decoding
    before = copy.deepcopy(model.state_dict())
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1)
    data = model.data_preprocessor(training_batch(), training=True)
    loss = sum(model.loss(**data).values())
    optim.zero_grad()
    loss.backward()
    optim.step()
    after = model.state_dict()
    for key, value in before.items():
        if key.startswith('detector.'):
            # weights and BN running statistics alike
            assert torch.equal(after[key], value), key
    assert not torch.equal(after['track_head.conv_embed.weight'],
                           before['track_head.conv_embed.weight'])


@pytest.mark.parametrize('separate_grad_clip', [True, False])
def test_synthetic_ablation_trains_the_same_detector(separate_grad_clip):
    """With detached features and the tracking head clipped on its own, the
    synthetic config and its no-contrastive ablation make identical
    detector updates; one global clipping norm couples them."""
    from mmengine.optim import build_optim_wrapper
    wrapper_cfg = Config.fromfile(SYNTHETIC).optim_wrapper
    assert wrapper_cfg.separate_grad_clip == ['track_head']
    wrapper_cfg.clip_grad.max_norm = 0.5  # clipping on at every step
    if not separate_grad_clip:
        wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=wrapper_cfg.optimizer,
            clip_grad=wrapper_cfg.clip_grad)
    ablation = Config.fromfile(
        osp.join(CONFIG_DIR,
                 'stc_r18_fpn_no-contrastive_1xb4-8e_synthetic.py')).model
    detectors = []
    for contrastive in (True, False):
        cfg = tiny_model_cfg()
        if not contrastive:
            cfg.track_head.contrastive = False
            cfg.track_head.loss_track = ablation.track_head.loss_track
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        model.init_weights()
        model.train()
        wrapper = build_optim_wrapper(model, copy.deepcopy(wrapper_cfg))
        data = model.data_preprocessor(training_batch(), training=True)
        for _ in range(3):
            wrapper.update_params(
                sum(model.loss(**copy.deepcopy(data)).values()))
        detectors.append(model.detector.state_dict())
    same = all(
        torch.equal(value, detectors[1][key])
        for key, value in detectors[0].items())
    assert same == separate_grad_clip


def test_matching_loss_with_a_reference_frame_without_ground_truth():
    """A batch where one reference frame lost all its objects (e.g. after a
    crop): those queries are all "new" (target 0), by hand."""
    from mmengine.structures import InstanceData

    from mmvis_clip.models.heads import STCTrackHead
    head = STCTrackHead(
        in_channels=4,
        feat_channels=4,
        num_convs=1,
        embed_dim=3,
        contrastive=False,
        loss_track=dict(type='CrossEntropyLoss', loss_weight=1.0))
    queries = [torch.randn(2, 3), torch.randn(1, 3)]
    query_ids = [torch.tensor([5, 6]), torch.tensor([9])]
    key_maps = torch.randn(2, 3, 8, 12)
    gts = [
        InstanceData(
            bboxes=torch.tensor([[0., 0., 16., 16.]]),
            instances_ids=torch.tensor([6])),
        InstanceData(
            bboxes=torch.zeros(0, 4), instances_ids=torch.zeros(0).long())
    ]
    loss = head._matching_loss(queries, query_ids, key_maps, gts)
    key = head.embeddings_at_boxes(key_maps[0], gts[0].bboxes)[0]
    logits = torch.stack([
        torch.stack([torch.tensor(0.), queries[0][0] @ key]),
        torch.stack([torch.tensor(0.), queries[0][1] @ key]),
        torch.tensor([0., float('-inf')])
    ])
    expected = torch.nn.functional.cross_entropy(
        logits, torch.tensor([0, 1, 0]), reduction='sum') / 1
    assert torch.isfinite(loss)
    assert torch.allclose(loss, expected, atol=1e-5)


def test_batch_without_ground_truth_uses_every_parameter():
    """Every frame of a batch lost its objects (e.g. a crop on one DDP
    rank): the losses are finite and every trainable parameter is in the
    graph, as DDP without find_unused_parameters needs."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    model.train()
    batch = training_batch()
    for track in batch['data_samples']:
        for frame in track.video_data_samples:
            frame.gt_instances = frame.gt_instances[torch.zeros(
                len(frame.gt_instances), dtype=torch.bool)]
    data = model.data_preprocessor(batch, training=True)
    losses = model.loss(**data)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    unused = [
        name for name, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert unused == []


def test_bf16_autocast_step_has_finite_gradients():
    """What ``--amp`` does, on CPU: STC's losses under bfloat16 autocast
    are finite and give finite gradients for every parameter."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    model.train()
    data = model.data_preprocessor(training_batch(), training=True)
    assert bf16_step_bad_parameters(model, data) == []
