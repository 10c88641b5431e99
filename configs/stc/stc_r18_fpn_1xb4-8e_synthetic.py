# STC on the synthetic VIS dataset: a small model trained from scratch
# (nothing is downloaded) that learns in minutes on 2 CPU cores.
#   python tools/misc/make_synthetic_vis.py --out data/synthetic_vis
#   python tools/train.py configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py
# Same method as the R50 configs (losses, sampling, tracker, test
# settings); narrower heads: 64-channel FPN and towers, 64-d embeddings,
# and a lower consistency weight for training from scratch (see below).
_base_ = [
    '../_base_/models/stc_r50_fpn.py',
    '../_base_/datasets/synthetic_vis.py',
    '../_base_/schedules/schedule_synthetic_sgd_8e.py',
    '../_base_/default_runtime.py'
]

num_classes = 6
channels = 64
model = dict(
    detector=dict(
        backbone=dict(
            depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
        neck=dict(in_channels=[64, 128, 256, 512], out_channels=channels),
        bbox_head=dict(
            num_classes=num_classes,
            in_channels=channels,
            feat_channels=channels,
            stacked_convs=2),
        mask_head=dict(
            mask_feature_head=dict(
                in_channels=channels,
                feat_channels=channels,
                num_stacked_convs=2))),
    # the tracking losses train the tracking head only (from scratch; the
    # R50 configs train jointly, as the paper): configs/stc/README.md
    track_head=dict(
        in_channels=channels,
        feat_channels=channels,
        num_convs=1,
        embed_dim=64,
        detach_features=True),
    # lambda_c = 0.1 from scratch (10 from COCO): configs/stc/README.md
    loss_consistency=dict(loss_weight=0.1))

# the tracking head's gradients clipped on their own norm, so that the
# tracking-loss ablations train the same detector: configs/stc/README.md
optim_wrapper = dict(
    type='SeparateGradClipOptimWrapper',
    constructor='SeparateGradClipOptimWrapperConstructor',
    separate_grad_clip=['track_head'])

# The synthetic base config's loaders (batch 2) with batch 4 per step.
train_dataloader = dict(batch_size=4, num_workers=1)
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader

# 8 short epochs (_base_/schedules/schedule_synthetic_sgd_8e.py); a log
# line every 20 iterations, the last 2 checkpoints kept
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(interval=1, max_keep_ckpts=2))
