# CiCo-CondInst on the synthetic VIS dataset: the synthetic CiCo-Yolact
# config with CondInst-style clip masks (8 prototypes, dynamic 1x1x1 FCN,
# Eq. 6), as configs/_base_/models/cico-condinst_r50_fpn.py does for R50.
_base_ = './cico-yolact_r18_fpn_1xb4-8e_synthetic.py'

model = dict(
    # mmdet CondInst's FPN, as the R50 config
    neck=dict(
        add_extra_convs='on_output',
        relu_before_extra_convs=True,
        upsample_cfg=dict(mode='nearest')),
    mask_head=dict(
        mask_generator=dict(
            _delete_=True,
            type='CondInstClipMaskGenerator',
            num_protos=8,
            channels=8,
            num_layers=3,
            loss_weight=6.125 * 3)))
