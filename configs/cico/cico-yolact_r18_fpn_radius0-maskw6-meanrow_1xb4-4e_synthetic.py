# The three factors of configs/cico/README.md ("What costs the clip model
# what") that raised CiCo-Yolact's AP one at a time, together: each row
# matched to its own frame's box (match-radius0), the frame model's mask loss
# weight (mask-weight-6) and one time-mean prediction row per clip
# (time-mean-row).
_base_ = './cico-yolact_r18_fpn_1xb4-4e_synthetic.py'

model = dict(
    bbox_head=dict(per_frame_rows=False),
    mask_head=dict(mask_generator=dict(loss_weight=6.125)),
    train_cfg=dict(match_radius=0))
