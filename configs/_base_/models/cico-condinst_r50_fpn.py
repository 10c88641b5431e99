# CiCo-CondInst, ResNet-50 FPN: CiCo-Yolact's network with 8 prototypes and
# CondInst-style clip masks (Eq. 6): a dynamic FCN of three 1x1x1 convs on
# the prototypes and the coordinates relative to the circumscribed box
# centre (169 parameters per object). CondInst's mask branch has no ReLU
# on its output.
_base_ = './cico-yolact_r50_fpn.py'

model = dict(
    mask_head=dict(
        proto_relu=False,
        mask_generator=dict(
            _delete_=True,
            type='CondInstClipMaskGenerator',
            num_protos=8,
            channels=8,
            num_layers=3,
            loss_weight=6.125 * 3)))
