# The fixed-detector comparison with MaskTrack R-CNN's matching loss instead
# of the multi-positive contrastive loss (see
# stc_r18_fpn_track-head-only_1xb4-8e_synthetic.py).
_base_ = './stc_r18_fpn_track-head-only_1xb4-8e_synthetic.py'

model = dict(
    track_head=dict(
        contrastive=False,
        loss_track=dict(
            _delete_=True,
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0)))
