# Per-frame prediction rows, each matched to its own frame's box
# (match-radius0), the frame model's mask loss weight (mask-weight-6), and at
# test only the rows of the clip's middle frame (configs/cico/README.md, "What
# costs the clip model what").
_base_ = './cico-yolact_r18_fpn_1xb4-4e_synthetic.py'

model = dict(
    mask_head=dict(mask_generator=dict(loss_weight=6.125)),
    train_cfg=dict(match_radius=0),
    test_cfg=dict(row_frame=1))
