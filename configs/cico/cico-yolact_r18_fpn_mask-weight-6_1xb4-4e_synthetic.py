# Factor of configs/cico/README.md ("What costs the clip model what"): the
# mask loss weight of the frame-level model it starts from, 6.125 (= 6.125
# min(T, 5) at T = 1), instead of 6.125 x 3 for T = 3.
_base_ = './cico-yolact_r18_fpn_paper-recipe_1xb4-4e_synthetic.py'

model = dict(mask_head=dict(mask_generator=dict(loss_weight=6.125)))
