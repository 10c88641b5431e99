# mmdet's Swin-T backbone (as in mmdet's retinanet_swin-t-p4-w7_fpn_1x_coco.py)
# for a model config to take in place of its ResNet:
#   model = dict(backbone=_base_.swin_t_backbone,
#                neck=dict(in_channels=[192, 384, 768], start_level=0))
swin_t_pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth'  # noqa: E501
swin_t_backbone = dict(
    _delete_=True,
    type='SwinTransformer',
    embed_dims=96,
    depths=[2, 2, 6, 2],
    num_heads=[3, 6, 12, 24],
    window_size=7,
    mlp_ratio=4,
    qkv_bias=True,
    qk_scale=None,
    drop_rate=0.,
    attn_drop_rate=0.,
    drop_path_rate=0.2,
    patch_norm=True,
    out_indices=(1, 2, 3),
    with_cp=False,
    convert_weights=True,
    init_cfg=dict(type='Pretrained', checkpoint=swin_t_pretrained))
