# Synthetic ablation: no temporal consistency loss on the kernels (Eq. 6).
_base_ = './stc_r18_fpn_1xb4-8e_synthetic.py'

model = dict(loss_consistency=None)
