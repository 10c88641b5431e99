# CiCo-CondInst, Swin-T, YouTube-VIS 2021: the R50 config with mmdet's Swin-T
# backbone
# (as in mmdet's retinanet_swin-t-p4-w7_fpn_1x_coco.py). mmdet has no COCO
# CondInst Swin-T checkpoint: pre-train the image-level model
# first (T = 1, 2D heads) and start from it, its 2D convs are inflated:
#   tools/dist_train.sh \
#       configs/cico/cico-condinst_swin-t-p4-w7_fpn_8xb8-12e_coco.py 8
_base_ = [
    './cico-condinst_r50_fpn_4xb6-12e_youtubevis2021.py',
    '../_base_/models/swin-t-p4-w7_backbone.py'
]

model = dict(
    backbone=_base_.swin_t_backbone,
    neck=dict(in_channels=[192, 384, 768], start_level=0))

load_from = 'work_dirs/cico-condinst_swin-t-p4-w7_fpn_8xb8-12e_coco/epoch_12.pth'  # noqa: E501
