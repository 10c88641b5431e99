# Frame-in frame-out (FiFo) baseline of the synthetic CiCo-CondInst config;
# see cico-yolact_r18_fpn_fifo_1xb4-8e_synthetic.py.
_base_ = './cico-condinst_r18_fpn_1xb4-8e_synthetic.py'

model = dict(
    num_frames=1,  # the training clips and the tracker follow it
    bbox_head=dict(
        cls_tower_3d=False,
        box_tower_3d=False,
        track_tower_3d=False),
    mask_head=dict(conv_3d=False, mask_generator=dict(loss_weight=6.125)),
    train_cfg=dict(match_radius=0),
    tracker=dict(overlap=0))
