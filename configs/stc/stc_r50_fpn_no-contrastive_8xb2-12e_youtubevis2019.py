# Ablation (Tables 4-5, "Contrastive" off): MaskTrack R-CNN's matching loss
# (softmax over [new object, reference instances], one positive) replaces
# the multi-positive contrastive loss. Weight 1.0 as in MaskTrack R-CNN.
_base_ = './stc_r50_fpn_8xb2-12e_youtubevis2019.py'

model = dict(
    track_head=dict(
        contrastive=False,
        loss_track=dict(
            _delete_=True,
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0)))
