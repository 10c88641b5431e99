# Image-level COCO pre-training of CiCo-CondInst Swin-T: the CiCo-Yolact
# pre-training config with CondInst-style masks (8 prototypes, dynamic
# FCN, Eq. 6), as configs/_base_/models/cico-condinst_r50_fpn.py.
_base_ = './cico-yolact_swin-t-p4-w7_fpn_8xb8-12e_coco.py'

model = dict(
    # the FPN of the CiCo-CondInst video configs (mmdet CondInst's, see
    # configs/_base_/models/cico-condinst_r50_fpn.py)
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
            loss_weight=6.125)))
