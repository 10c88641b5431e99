# STC (CondInst + spatio-temporal contrastive tracking), ResNet-50,
# YouTube-VIS 2019, the paper's schedule: SGD lr 5e-3 (momentum 0.9, weight
# decay 1e-4), 12 epochs, lr x0.1 after epochs 8 and 11, 640x360 frames,
# initialised from mmdet's COCO CondInst (its keys are moved under
# `detector.` when loading, see `STC`).
#
# Ablations (paper Tables 4-8) are config keys; see configs/stc/README.md:
#   contrastive on/off ........ model.track_head.contrastive (+ loss_track)
#   bi-direction on/off ....... model.track_head.bidirectional
#   consistency on/off ........ model.loss_consistency (None = off)
#   embedding dim ............. model.track_head.embed_dim
#   number of negatives ....... track_head.train_cfg.sampler.num_negatives
#   in-box negatives .......... track_head.train_cfg.sampler.neg_in_box
#   kernel-generator convs .... model.detector.mask_head.num_layers
#                               (+ bbox_head.num_params)
#   mask-branch channels ...... mask_head.mask_feature_head.out_channels
#   relative coordinates ...... model.detector.mask_head.with_coords
_base_ = [
    '../_base_/models/stc_r50_fpn.py',
    '../_base_/datasets/youtube_vis_2019.py',
    '../_base_/schedules/schedule_stc_sgd_12e.py',
    '../_base_/default_runtime.py'
]

# mmdet's COCO CondInst R50 (box AP 39.8, mask AP 36.0)
load_from = 'https://download.openmmlab.com/mmdetection/v3.0/condinst/condinst_r50_fpn_ms-poly-90k_coco_instance/condinst_r50_fpn_ms-poly-90k_coco_instance_20221129_125223-4c186406.pth'  # noqa: E501
