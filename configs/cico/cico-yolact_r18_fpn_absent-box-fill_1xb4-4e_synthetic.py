# Factor of configs/cico/README.md ("What costs the clip model what"): the
# box targets of the frames an object is absent from are its nearest
# present frame's box, regressed (the public code's), instead of weight 0.
_base_ = './cico-yolact_r18_fpn_paper-recipe_1xb4-4e_synthetic.py'

model = dict(train_cfg=dict(absent_boxes='fill'))
