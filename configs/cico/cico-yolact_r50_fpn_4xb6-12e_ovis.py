# CiCo-Yolact, ResNet-50, OVIS, the paper's schedule: 3-frame clips
# (640x360), SGD lr 1e-3, 12 epochs, lr x0.1 after epochs 8 and 10, 24
# clips per batch (4 GPUs x 6), clips overlapping by one frame at test.
_base_ = [
    '../_base_/models/cico-yolact_r50_fpn.py',
    '../_base_/datasets/ovis_clip.py',
    '../_base_/schedules/schedule_cico_sgd_12e.py',
    '../_base_/default_runtime.py'
]

model = dict(bbox_head=dict(num_classes=25))

train_dataloader = dict(batch_size=6)

# mmdet's COCO YOLACT R50 (backbone, FPN and the shared head conv;
# 2D convs that are 3D here are inflated when loading, see `CiCo`)
load_from = 'https://download.openmmlab.com/mmdetection/v2.0/yolact/yolact_r50_8x8_coco/yolact_r50_8x8_coco_20200908-ca34f5db.pth'  # noqa: E501
