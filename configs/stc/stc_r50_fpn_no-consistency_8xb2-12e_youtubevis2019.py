# Ablation (Tables 4, 6, 7, "Consistency" off): no temporal consistency loss
# on the dynamic kernels (Eq. 6).
_base_ = './stc_r50_fpn_8xb2-12e_youtubevis2019.py'

model = dict(loss_consistency=None)
