# Ablation (Tables 4-5, "Bi-direction" off): key frame -> reference frame
# only (Eq. 4 instead of Eq. 5).
_base_ = './stc_r50_fpn_8xb2-12e_youtubevis2019.py'

model = dict(track_head=dict(bidirectional=False))
