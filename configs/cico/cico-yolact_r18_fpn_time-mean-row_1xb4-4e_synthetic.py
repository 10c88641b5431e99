# Factor of configs/cico/README.md ("What costs the clip model what"): one
# prediction row per clip from the time mean of the towers instead of one
# row per frame (the public code's).
_base_ = './cico-yolact_r18_fpn_paper-recipe_1xb4-4e_synthetic.py'

model = dict(bbox_head=dict(per_frame_rows=False))
