# STC (CondInst + spatio-temporal contrastive tracking head + STCTracker),
# ResNet-50 FPN, 40 classes (YouTube-VIS). The detector is mmdet's CondInst
# R50 (condinst_r50_fpn_ms-poly-90k_coco_instance.py) with STC's test
# settings, so a COCO CondInst checkpoint initialises all of it. Written out
# rather than inherited: `_base_` on the mmdet config would also bring its
# COCO data, 90k-iteration schedule and runtime keys, which clash with the
# STC dataset bases; tests/test_stc_model.py checks it against mmdet's.
num_classes = 40
model = dict(
    type='STC',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    # mmdet's CondInst R50 (condinst_r50_fpn_ms-poly-90k_coco_instance.py)
    # with STC's test settings; all of it comes from `load_from`.
    detector=dict(
        type='CondInst',
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=1,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=True,
            style='pytorch',
            init_cfg=None),
        neck=dict(
            type='FPN',
            in_channels=[256, 512, 1024, 2048],
            out_channels=256,
            start_level=1,
            add_extra_convs='on_output',
            num_outs=5,
            relu_before_extra_convs=True),
        bbox_head=dict(
            type='CondInstBboxHead',
            num_params=169,
            num_classes=num_classes,
            in_channels=256,
            stacked_convs=4,
            feat_channels=256,
            strides=[8, 16, 32, 64, 128],
            norm_on_bbox=True,
            centerness_on_reg=True,
            dcn_on_last_conv=False,
            center_sampling=True,
            conv_bias=True,
            loss_cls=dict(
                type='FocalLoss',
                use_sigmoid=True,
                gamma=2.0,
                alpha=0.25,
                loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
            loss_centerness=dict(
                type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
        mask_head=dict(
            type='STCMaskHead',
            with_coords=True,
            num_layers=3,
            feat_channels=8,
            size_of_interest=8,
            mask_out_stride=4,
            max_masks_to_train=300,
            mask_feature_head=dict(
                in_channels=256,
                feat_channels=128,
                start_level=0,
                end_level=2,
                out_channels=8,
                mask_stride=8,
                num_stacked_convs=4,
                norm_cfg=dict(type='BN', requires_grad=True)),
            loss_mask=dict(
                type='DiceLoss',
                use_sigmoid=True,
                activate=True,
                eps=5e-6,
                loss_weight=1.0)),
        # STC Sec. 3.5: score > 0.03, NMS 0.5, 10 detections per frame
        test_cfg=dict(
            nms_pre=1000,
            min_bbox_size=0,
            score_thr=0.03,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=10,
            mask_thr=0.5)),
    track_head=dict(
        type='STCTrackHead',
        in_channels=256,
        feat_channels=256,
        num_convs=2,
        embed_dim=256,
        start_level=0,
        end_level=2,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        contrastive=True,
        bidirectional=True,
        # lambda_b = 0.2 (Eq. 7)
        loss_track=dict(type='MultiPosContrastiveLoss', loss_weight=0.2),
        train_cfg=dict(
            sampler=dict(
                type='ContrastivePairSampler',
                num_negatives=128,
                neg_in_box=False))),
    # lambda_c = 10 (Eq. 7)
    loss_consistency=dict(type='KernelConsistencyLoss', loss_weight=10.0),
    # cosine embedding similarity: higher AssA than the dot product for
    # both tracking losses (configs/stc/README.md, "Association")
    tracker=dict(
        type='STCTracker',
        match_weights=dict(det_score=1.0, iou=2.0, det_label=10.0),
        num_frames_retain=20,
        embed_similarity='cosine'))
