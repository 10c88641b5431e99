# The default synthetic CiCo-CondInst with one prediction row per frame and,
# at test, only the middle frame's rows; see
# cico-yolact_r18_fpn_frame-rows-midrow_1xb4-4e_synthetic.py.
_base_ = './cico-condinst_r18_fpn_1xb4-4e_synthetic.py'

model = dict(
    bbox_head=dict(per_frame_rows=True), test_cfg=dict(row_frame=1))
