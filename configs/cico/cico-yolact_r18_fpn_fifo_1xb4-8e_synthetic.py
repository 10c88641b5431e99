# Frame-in frame-out (FiFo) baseline of the synthetic CiCo-Yolact config
# (paper Fig. 2a / Table 1b first row with T = 1): one frame per sample,
# 2D towers and 2D prototype net, the clip tracker on 1-frame clips without
# overlap (embedding + IoU between consecutive frames). Same schedule.
_base_ = './cico-yolact_r18_fpn_1xb4-8e_synthetic.py'

model = dict(
    num_frames=1,  # the training clips and the tracker follow it
    bbox_head=dict(
        cls_tower_3d=False,
        box_tower_3d=False,
        track_tower_3d=False),
    mask_head=dict(
        conv_3d=False,
        # 6.125 * min(T, 5) with T = 1
        mask_generator=dict(loss_weight=6.125)),
    train_cfg=dict(match_radius=0),
    tracker=dict(overlap=0))
