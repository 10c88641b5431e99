# The default synthetic CiCo-Yolact with one prediction row per frame (the
# public code's) instead of the time-mean row, and at test only the rows of
# the clip's middle frame (configs/cico/README.md, "What costs the clip model
# what").
_base_ = './cico-yolact_r18_fpn_1xb4-4e_synthetic.py'

model = dict(
    bbox_head=dict(per_frame_rows=True), test_cfg=dict(row_frame=1))
