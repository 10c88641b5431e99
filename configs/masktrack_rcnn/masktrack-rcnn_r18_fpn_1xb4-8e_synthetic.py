# mmdet's MaskTrack R-CNN (the baseline) on the synthetic VIS dataset.
#
# Inherits mmdet's own YouTube-VIS 2019 config and changes only what the
# synthetic data needs: a half-width ResNet-18 trained from scratch (no
# pretrained weights are needed or downloaded), a 64-channel FPN, anchors
# for small objects, 6 classes, and the synthetic dataset's loaders and
# local metric.
# It learns in minutes on 2 CPU cores:
#   python tools/train.py \
#       configs/masktrack_rcnn/masktrack-rcnn_r18_fpn_1xb4-8e_synthetic.py
_base_ = ('mmdet::masktrack_rcnn/'
          'masktrack-rcnn_mask-rcnn_r50_fpn_8xb1-12e_youtubevis2019.py')

custom_imports = dict(imports=['mmvis_clip'], allow_failed_imports=False)
default_scope = 'mmdet'

num_classes = 6
channels = 64
model = dict(
    detector=dict(
        init_cfg=None,
        backbone=dict(
            depth=18,
            stem_channels=32,
            base_channels=32,
            norm_eval=False,
            frozen_stages=-1,
            init_cfg=None),
        neck=dict(in_channels=[32, 64, 128, 256], out_channels=channels),
        rpn_head=dict(
            in_channels=channels,
            feat_channels=channels,
            anchor_generator=dict(scales=[4])),
        roi_head=dict(
            bbox_roi_extractor=dict(out_channels=channels),
            bbox_head=dict(
                in_channels=channels,
                fc_out_channels=256,
                num_classes=num_classes),
            mask_roi_extractor=dict(out_channels=channels),
            mask_head=dict(
                in_channels=channels,
                conv_out_channels=channels,
                num_classes=num_classes))),
    track_head=dict(
        roi_extractor=dict(out_channels=channels),
        embed_head=dict(in_channels=channels, fc_out_channels=256)))

# ---- data: the synthetic set at its own size (see the dataset base config)
dataset_type = 'SyntheticVISDataset'
data_root = 'data/synthetic_vis/'
img_scale = (224, 128)
train_pipeline = [
    dict(
        type='UniformRefFrameSample',
        num_ref_imgs=1,
        frame_range=10,
        filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations', with_mask=True),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='LoadTrackAnnotations', with_mask=True),
        ]),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train_cocovid.json',
        data_prefix=dict(img_path='train/JPEGImages'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/valid_cocovid.json',
        data_prefix=dict(img_path='valid/JPEGImages'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='VISMetric',
    ann_file=data_root + 'annotations/valid.json')
test_evaluator = val_evaluator

# ---- schedule: 8 short epochs from scratch
optim_wrapper = dict(
    optimizer=dict(lr=0.005, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs + 1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[6],
        gamma=0.1)
]
# Atomic checkpoints, exact resume and CPU threads kept at the free cores,
# as configs/_base_/default_runtime.py gives this package's other configs.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2),
    rng_state=dict(type='RngStateHook'),
    cpu_threads=dict(type='CPUThreadsHook'))
auto_scale_lr = dict(enable=False, base_batch_size=4)
