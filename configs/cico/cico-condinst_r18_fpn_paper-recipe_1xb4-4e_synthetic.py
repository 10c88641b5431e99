# CiCo-CondInst on the synthetic dataset with the published recipe; see
# cico-yolact_r18_fpn_paper-recipe_1xb4-4e_synthetic.py.
_base_ = './cico-condinst_r18_fpn_1xb4-4e_synthetic.py'

model = dict(
    bbox_head=dict(per_frame_rows=True),
    mask_head=dict(mask_generator=dict(loss_weight=6.125 * 3)),
    train_cfg=dict(match_radius=1))
