# CiCo-Yolact on the synthetic VIS dataset: a small model trained from
# scratch (nothing is downloaded) that learns in minutes on 2 CPU cores.
#   python tools/misc/make_synthetic_vis.py --out data/synthetic_vis
#   python tools/train.py configs/cico/cico-yolact_r18_fpn_1xb4-8e_synthetic.py
# Same method as the R50 configs (3-frame clips, 3D box/tracking towers,
# losses, clip tracker) but with the 2D CMH (see below); narrower: 64-channel
# FPN, towers and prototype net, 2 convs per tower; the synthetic budget
# shared with STC.
# GroupNorm in the towers and the prototype net: trained from scratch
# without it (the R50 configs start from COCO weights, as the paper), the
# class and box towers' ReLUs died within the first epoch (all-zero
# outputs, a constant score of 0.064 everywhere after 8 epochs).
_base_ = [
    '../_base_/models/cico-yolact_r50_fpn.py',
    '../_base_/datasets/synthetic_vis_clip.py',
    '../_base_/schedules/schedule_synthetic_sgd_8e.py',
    '../_base_/default_runtime.py'
]

num_classes = 6
channels = 64
gn = dict(type='GN', num_groups=16, requires_grad=True)
model = dict(
    backbone=dict(
        depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=channels),
    bbox_head=dict(
        num_classes=num_classes,
        in_channels=channels,
        feat_channels=channels,
        stacked_convs=2,
        norm_cfg=gn),
    # 2D CMH: every synthetic object is small (configs/cico/README.md)
    mask_head=dict(
        in_channels=channels,
        feat_channels=channels,
        num_convs=2,
        conv_3d=False,
        norm_cfg=gn))

train_dataloader = dict(batch_size=4, num_workers=1)
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader

# 8 short epochs (_base_/schedules/schedule_synthetic_sgd_8e.py, weight
# decay 1e-4 as the public CiCo code)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(interval=1, max_keep_ckpts=2))
