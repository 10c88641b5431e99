# Tracking losses compared on one fixed detector: the synthetic STC config
# with its detector loaded from a trained synthetic STC and frozen (weights
# and BN statistics); only the tracking head trains (same 8-epoch
# schedule). Two configs that differ in the tracking loss then differ only
# in their embeddings. The detector checkpoint (the `detector.` weights
# of a trained synthetic STC, tracking head left out):
#   python -c "import torch; c = torch.load('work_dirs/stc_r18_fpn_1xb4-8e_synthetic/epoch_8.pth', weights_only=False); torch.save({'state_dict': {k: v for k, v in c['state_dict'].items() if k.startswith('detector.')}}, 'work_dirs/stc_r18_synthetic_detector.pth')"  # noqa: E501
_base_ = './stc_r18_fpn_1xb4-8e_synthetic.py'

model = dict(freeze_detector=True)
load_from = 'work_dirs/stc_r18_synthetic_detector.pth'
