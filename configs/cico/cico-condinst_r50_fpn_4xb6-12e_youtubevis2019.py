# CiCo-CondInst, ResNet-50, YouTube-VIS 2019, the paper's schedule: 3-frame
# clips
# (640x360), SGD lr 1e-3, 12 epochs, lr x0.1 after epochs 8 and 10, 24
# clips per batch (4 GPUs x 6), clips overlapping by one frame at test.
# Ablation keys: see configs/_base_/models/cico-yolact_r50_fpn.py.
_base_ = [
    '../_base_/models/cico-condinst_r50_fpn.py',
    '../_base_/datasets/youtube_vis_2019_clip.py',
    '../_base_/schedules/schedule_cico_sgd_12e.py',
    '../_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=6)

# mmdet's COCO CondInst R50 (backbone, FPN, class tower and box tower;
# the box tower's 2D convs are inflated to 3D when loading, see `CiCo`)
load_from = 'https://download.openmmlab.com/mmdetection/v3.0/condinst/condinst_r50_fpn_ms-poly-90k_coco_instance/condinst_r50_fpn_ms-poly-90k_coco_instance_20221129_125223-4c186406.pth'  # noqa: E501
