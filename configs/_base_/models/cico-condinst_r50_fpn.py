# CiCo-CondInst, ResNet-50 FPN: CiCo-Yolact's network with 8 prototypes and
# CondInst-style clip masks (Eq. 6): a dynamic FCN of three 1x1x1 convs on
# the prototypes and the coordinates relative to the circumscribed box
# centre (169 parameters per object). Prototypes with a ReLU, as the
# public code's CiCo-CondInst (CondInst's own mask branch has none:
# mask_head.proto_relu=False).
_base_ = './cico-yolact_r50_fpn.py'

model = dict(
    # mmdet CondInst's FPN (condinst_r50_fpn_ms-poly-90k_coco_instance.py),
    # so that its COCO checkpoint loads whole: P6 from P5 (`on_output`) with
    # a ReLU before P7, nearest upsampling
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
