# STC R101 on YouTube-VIS 2019.
#
# The paper starts from a COCO-trained CondInst R101; mmdet publishes only
# the R50 CondInst checkpoint, so this config starts the backbone from
# ImageNet (torchvision) and the heads from scratch. Point `load_from` to a
# COCO CondInst R101 checkpoint in mmdet's layout to follow the paper (its
# keys are moved under `detector.` when loading).
_base_ = './stc_r50_fpn_8xb2-12e_youtubevis2019.py'

model = dict(
    detector=dict(
        backbone=dict(
            depth=101,
            init_cfg=dict(
                _delete_=True,
                type='Pretrained',
                checkpoint='torchvision://resnet101'))))
load_from = None
