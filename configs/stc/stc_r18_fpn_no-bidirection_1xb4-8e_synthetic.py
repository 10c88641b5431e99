# Synthetic ablation: contrastive loss in one direction only (Eq. 4).
_base_ = './stc_r18_fpn_1xb4-8e_synthetic.py'

model = dict(track_head=dict(bidirectional=False))
