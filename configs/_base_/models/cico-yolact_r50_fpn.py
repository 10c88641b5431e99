# CiCo-Yolact, ResNet-50 FPN, 40 classes (YouTube-VIS), 3-frame clips.
# Clip-level prediction head (CPH): 3 anchors per location on P3-P7, 4-conv
# towers, 3D box and tracking towers, 2D class tower (paper Table 1b), one
# prediction row per frame (the public code's);
# clip-level mask head (CMH) with 3D convs (Table 1d) and 32 prototypes;
# Yolact-style clip masks (Eq. 5). Loss weights follow the public CiCo
# code: focal x5, smooth-L1 (beta 1) x1, DIoU x1, centerness BCE x1, mask
# BCE x 6.125 * min(T, 5), track x5. Paper / public code / default table:
# configs/cico/README.md.
#
# Ablations (paper Tables 1-2, Fig. 5) are config keys:
#   3D conv per CPH tower (1b) .. model.bbox_head.{cls,box,track}_tower_3d
#   sample matcher (1c) ......... model.train_cfg.match_radius
#                                 (0: the current frame's box; 1: the
#                                 circumscribed box of frames t-1..t+1;
#                                 None: of the whole clip)
#   2D/3D CMH (1d) .............. model.mask_head.conv_3d
#   clip length T (1a, Fig. 5) .. model.num_frames (the heads, the tracker
#                                 and the training clips follow it) and
#                                 the mask loss weight 6.125 * min(T, 5)
#   overlap frames To (Table 2) . model.tracker.overlap
num_classes = 40
model = dict(
    type='CiCo',
    num_frames=3,
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    # mmdet YOLACT's FPN (yolact_r50_1xb8-55e_coco.py), so that its COCO
    # checkpoint loads whole: P6 from C5 (`on_input`), bilinear upsampling
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_input',
        num_outs=5,
        upsample_cfg=dict(mode='bilinear')),
    bbox_head=dict(
        type='CiCoHead',
        num_classes=num_classes,
        in_channels=256,
        feat_channels=256,
        stacked_convs=4,
        per_frame_rows=True,
        embed_dim=64,
        cls_tower_3d=False,
        box_tower_3d=True,
        track_tower_3d=True,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=3,
            scales_per_octave=1,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=5.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
        loss_iou=dict(type='DIoULoss', loss_weight=1.0),
        loss_centerness=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_track=dict(type='CosineTrackLoss', loss_weight=5.0)),
    mask_head=dict(
        type='CiCoMaskHead',
        in_channels=256,
        feat_channels=256,
        start_level=0,
        end_level=2,
        num_convs=3,
        conv_3d=True,
        # BN after the convs (the public code's); the paper's deconv (the
        # public code interpolates: upsample='bilinear')
        norm_cfg=dict(type='BN', requires_grad=True),
        upsample='deconv',
        proto_relu=True,
        mask_generator=dict(
            type='YolactClipMaskGenerator',
            num_protos=32,
            # 6.125 * min(T, 5) with T = 3
            loss_weight=6.125 * 3)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0.,
            ignore_iof_thr=-1),
        match_radius=1,
        absent_boxes='ignore',
        max_track_samples=64),
    # Sec. 3.4: class score > 0.1, then the public code's filters and NMS
    # (mmvis_clip/models/layers/clip_nms.py): the min(100 T, 300) best
    # candidates of all rows, no cap after NMS
    test_cfg=dict(
        score_thr=0.1,
        nms_pre=None,
        nms_iou_thr=0.5,
        dup_iou_thr=0.9,
        dup_rule='per_class_frame',
        min_mask_pixels=5,
        min_box_cover=0.1,
        max_per_clip=None,
        mask_thr=0.5),
    # Eq. 11 with the public code's weights, its "new track" dummy column
    # and its carrying of unmatched tracks; 3-frame clips, 1 overlap frame
    tracker=dict(
        type='ClipTracker',
        overlap=1,
        weights=dict(
            embed=1.0, mask_iou=0.5, box_iou=0.5, label=0.3, score=0.1),
        new_track=dict(
            embed=0.5, iou=0.3, small_iou_scale=0.5, small_area=0.1,
            label=1.0),
        on_conflict='drop',
        carry=dict(clips=None, score_thr=0.1),
        num_clips_retain=10))
