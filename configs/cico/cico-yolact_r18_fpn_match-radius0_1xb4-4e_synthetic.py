# Factor of configs/cico/README.md ("What costs the clip model what"): each
# row matched to its own frame's box (the public code's for T <= 5) instead
# of the circumscribed box of frames t-1..t+1 (paper Table 1c).
_base_ = './cico-yolact_r18_fpn_paper-recipe_1xb4-4e_synthetic.py'

model = dict(train_cfg=dict(match_radius=0))
