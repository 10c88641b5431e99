# STC R50 on YouTube-VIS 2021 (40 classes), the paper's schedule.
_base_ = [
    '../_base_/models/stc_r50_fpn.py',
    '../_base_/datasets/youtube_vis_2021.py',
    '../_base_/schedules/schedule_stc_sgd_12e.py',
    '../_base_/default_runtime.py'
]

# mmdet's COCO CondInst R50 (its 80-class classifier is not loaded)
load_from = 'https://download.openmmlab.com/mmdetection/v3.0/condinst/condinst_r50_fpn_ms-poly-90k_coco_instance/condinst_r50_fpn_ms-poly-90k_coco_instance_20221129_125223-4c186406.pth'  # noqa: E501
