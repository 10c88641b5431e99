# Image-level COCO pre-training of CiCo-Yolact Swin-T (mmdet has no COCO
# YOLACT Swin-T checkpoint): the frame-in frame-out network (T = 1, 2D
# towers and prototype net) trained on COCO instance segmentation images,
# each image a 1-frame clip (`ImageAsClip`). The video configs
# cico-yolact_swin-t-p4-w7_fpn_4xb6-12e_*.py start from its last checkpoint
# and inflate its 2D convs to 3D. Optimiser and schedule of mmdet's Swin-T
# Mask R-CNN 1x (AdamW lr 1e-4, weight decay 0.05, 12 epochs, steps 8, 11);
# mmdet's COCO scale 1333x800. Validation is off: the model's inference is
# video inference (train the video config and evaluate that).
_base_ = [
    '../_base_/models/cico-yolact_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    '../_base_/default_runtime.py',
    '../_base_/models/swin-t-p4-w7_backbone.py'
]

model = dict(
    num_frames=1,
    backbone=_base_.swin_t_backbone,
    neck=dict(in_channels=[192, 384, 768], start_level=0),
    bbox_head=dict(
        num_classes=80,
        cls_tower_3d=False,
        box_tower_3d=False,
        track_tower_3d=False),
    mask_head=dict(
        conv_3d=False,
        # 6.125 * min(T, 5) with T = 1
        mask_generator=dict(loss_weight=6.125)),
    train_cfg=dict(match_radius=0),
    tracker=None)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ImageAsClip'),
    dict(type='PackTrackInputs')
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
