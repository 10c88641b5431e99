# CiCo-Yolact on the synthetic dataset with the published recipe: the
# paper's sample matcher (the circumscribed box of frames t-1..t+1, Table
# 1c), and the public code's one prediction row per frame and mask loss
# weight 6.125 min(T, 5). The row the factor configs
# (match-radius0, absent-box-fill, mask-weight-6, time-mean-row) each change
# one key of; configs/cico/README.md, "What costs the clip model what".
_base_ = './cico-yolact_r18_fpn_1xb4-4e_synthetic.py'

model = dict(
    bbox_head=dict(per_frame_rows=True),
    mask_head=dict(mask_generator=dict(loss_weight=6.125 * 3)),
    train_cfg=dict(match_radius=1))
