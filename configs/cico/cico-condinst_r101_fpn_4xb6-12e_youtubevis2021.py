# CiCo-CondInst, ResNet-101, YouTube-VIS 2021: the R50 config with a deeper
# backbone.
_base_ = './cico-condinst_r50_fpn_4xb6-12e_youtubevis2021.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))

# mmdet has no CondInst R101: backbone and FPN from its COCO YOLACT R101
load_from = 'https://download.openmmlab.com/mmdetection/v2.0/yolact/yolact_r101_1x8_coco/yolact_r101_1x8_coco_20200908-4cbe9101.pth'  # noqa: E501
