# CiCo-CondInst with the three factors of configs/cico/README.md ("What
# costs the clip model what") that raised CiCo-Yolact's AP one at a time:
# see cico-yolact_r18_fpn_radius0-maskw6-meanrow_1xb4-4e_synthetic.py.
_base_ = './cico-condinst_r18_fpn_1xb4-4e_synthetic.py'

model = dict(
    bbox_head=dict(per_frame_rows=False),
    mask_head=dict(mask_generator=dict(loss_weight=6.125)),
    train_cfg=dict(match_radius=0))
