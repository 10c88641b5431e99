# Ablation (Table 4, first row "Baseline"): CondInst with MaskTrack R-CNN's
# tracking loss and tracker; no contrastive learning, no bi-direction, no
# consistency.
_base_ = './stc_r50_fpn_no-contrastive_8xb2-12e_youtubevis2019.py'

model = dict(track_head=dict(bidirectional=False), loss_consistency=None)
