"""CiCo from 2D (COCO image-level) checkpoints: role mapping, 2D -> 3D
inflation and a table of what was loaded.

The CiCo paper (Sec. 4) initialises the clip model from COCO-pretrained
image models, 2D conv kernels inflated to 3D; the authors' public code
(``CoreNet.init_weights_coco``) takes every tensor of its own COCO image
model (T = 1, same architecture) whose name and shape match, and the tracking
tower and layer, absent from its COCO models (``TRAIN_TRACK=False``), keep
their Xavier initialisation. This module does the same from three checkpoint
layouts:

- **this package's CiCo** (a 2D FiFo / COCO model, or a CiCo of the same
  architecture): names as they are;
- **mmdet's YOLACT**: the shared head conv, the box and coefficient layers
  and the prototype net are mapped by role (:data:`YOLACT_ROLES`);
- **mmdet's CondInst**: towers and prediction layers by name, the
  controller and the mask branch by role (:data:`CONDINST_ROLES`).

Then, per target tensor: 2D conv kernels whose target is 3D are inflated
(:func:`inflate_state_dict`, mean over time; the prototype net with the
centre-weighted taps 0.125 / 0.75 / 0.125); a 2D box layer (4 deltas per
anchor) is expanded to 4T (:func:`expand_box_frames`); an anchor-free layer
(CondInst's class, centerness and controller) is repeated for every anchor
(:func:`repeat_over_anchors`). What still does not fit is skipped with its
reason, and a table of loaded / inflated / expanded / skipped tensors per
module group is logged.
"""
from collections import OrderedDict, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log
from torch import Tensor

from ...utils.checkpoint_loading import group_count_table, mark_converted
from .conv_inflation import (expand_box_frames, inflate_state_dict,
                             repeat_over_anchors)

#: mmdet YOLACT (``YOLACTHead`` + ``YOLACTProtonet``) -> CiCo, by role:
#: ``(source prefix, target prefixes)``. YOLACT's protonet is conv 3x3 (x3),
#: bilinear x2, conv 3x3, conv 1x1 on P3 (indices 0, 2, 4, 6 = upsample,
#: 8, 10); CiCo's CMH (level convs on P3-P5 summed), 3 convs, x2 upsample
#: (deconv or bilinear), ``conv_refine``, ``conv_proto``: the 3 convs before
#: the upsampling, the conv after it and the prototype layer correspond.
YOLACT_ROLES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('bbox_head.head_convs.0.conv.',
     ('bbox_head.cls_convs.0.conv.', 'bbox_head.reg_convs.0.conv.')),
    ('bbox_head.conv_coeff.', ('bbox_head.conv_params.', )),
    ('mask_head.protonet.0.', ('mask_head.convs.0.conv.', )),
    ('mask_head.protonet.2.', ('mask_head.convs.1.conv.', )),
    ('mask_head.protonet.4.', ('mask_head.convs.2.conv.', )),
    ('mask_head.protonet.8.', ('mask_head.conv_refine.conv.', )),
    ('mask_head.protonet.10.', ('mask_head.conv_proto.', )),
)

#: mmdet YOLACT tensors whose role has no counterpart here.
YOLACT_SKIPS: Dict[str, str] = {
    'bbox_head.conv_cls.':
    'role differs: softmax over 80 classes + background (YOLACT), '
    'sigmoid classes here',
    'mask_head.segm_branch.':
    'no counterpart: YOLACT semantic-segmentation auxiliary branch',
}

#: mmdet CondInst (``CondInstBboxHead`` + ``CondInstMaskHead``) -> CiCo, by
#: role. Towers, ``conv_cls`` and ``conv_centerness`` have the same names.
#: CondInst's mask branch (``MaskFeatModule``): a conv per level P3-P5
#: summed, 4 convs, a 1x1 prediction, all at stride 8; CiCo's CMH: level
#: convs, 3 convs, x2 upsample, ``conv_refine``, ``conv_proto``: the
#: branch's last conv is the conv before the prototype layer.
CONDINST_ROLES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('bbox_head.controller.', ('bbox_head.conv_params.', )),
    ('mask_head.mask_feature_head.convs_all_levels.0.conv0.',
     ('mask_head.level_convs.0.', )),
    ('mask_head.mask_feature_head.convs_all_levels.1.conv1.',
     ('mask_head.level_convs.1.', )),
    ('mask_head.mask_feature_head.convs_all_levels.2.conv2.',
     ('mask_head.level_convs.2.', )),
    ('mask_head.mask_feature_head.conv_branch.0.', ('mask_head.convs.0.', )),
    ('mask_head.mask_feature_head.conv_branch.1.', ('mask_head.convs.1.', )),
    ('mask_head.mask_feature_head.conv_branch.2.', ('mask_head.convs.2.', )),
    ('mask_head.mask_feature_head.conv_branch.3.',
     ('mask_head.conv_refine.', )),
    ('mask_head.mask_feature_head.conv_pred.', ('mask_head.conv_proto.', )),
)

#: mmdet CondInst tensors whose role has no counterpart here.
CONDINST_SKIPS: Dict[str, str] = {
    'bbox_head.conv_reg.':
    'role differs: FCOS regresses distances to the box sides, CiCo '
    'anchor deltas',
    'bbox_head.scales.':
    'no counterpart: FCOS per-level regression scales',
}

#: Target layers whose anchor-free source is repeated for every anchor.
ANCHOR_REPEAT_LAYERS = ('bbox_head.conv_cls.', 'bbox_head.conv_params.',
                        'bbox_head.conv_centerness.')
BOX_LAYER = 'bbox_head.conv_reg.'
BOX_TOWER = 'bbox_head.reg_convs.'
TRACK_TOWER = 'bbox_head.track_convs.'
CENTRE_WEIGHTED = ('mask_head.', )
COLUMNS = ('loaded', 'inflated', 'expanded', 'skipped', 'not in ckpt')


def checkpoint_layout(keys: Sequence[str], prefix: str = '') -> str:
    """``'yolact'``, ``'condinst'`` (mmdet's) or ``'cico'`` (this
    package's, or anything else: names taken as they are)."""
    def has(name):
        return any(k.startswith(prefix + name) for k in keys)

    if has('bbox_head.conv_coeff.') or has('mask_head.protonet.'):
        return 'yolact'
    if has('bbox_head.controller.') or has('mask_head.mask_feature_head.'):
        return 'condinst'
    return 'cico'


def _layer(key: str) -> str:
    return key.rsplit('.', 1)[0]


def _group(key: str) -> str:
    parts = key.split('.')
    return parts[0] if parts[0] == 'backbone' else '.'.join(parts[:2])


class CheckpointInitReport:
    """What a 2D checkpoint gave each tensor of the model.

    Attributes:
        layout (str): See :func:`checkpoint_layout`.
        loaded (dict[str, tuple[str, str]]): Target key -> (how, source
            key); how is ``'loaded'`` (as it is, perhaps renamed),
            ``'inflated'`` (2D -> 3D) or ``'expanded'`` (box frames,
            anchors).
        skipped (dict[str, str]): Source key -> reason.
        missing (list[str]): Model keys the checkpoint does not give.
        roles (list[tuple[str, str]]): Role mappings applied, (source
            prefix, target prefix).
    """

    def __init__(self, layout: str) -> None:
        self.layout = layout
        self.loaded: Dict[str, Tuple[str, str]] = OrderedDict()
        self.skipped: Dict[str, str] = OrderedDict()
        self.missing: List[str] = []
        self.roles: List[Tuple[str, str]] = []

    def keys(self, how: str) -> List[str]:
        """Target keys given ``how`` (``'loaded'``, ``'inflated'``,
        ``'expanded'``)."""
        return [k for k, (h, _) in self.loaded.items() if h == how]

    def counts(self) -> Dict[str, Dict[str, int]]:
        """Per module group (``backbone``, ``neck.fpn_convs``,
        ``bbox_head.reg_convs``, ...), the count of each column."""
        table: Dict[str, Dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(COLUMNS, 0))
        for key, (how, _) in self.loaded.items():
            table[_group(key)][how] += 1
        for key in self.skipped:
            table[_group(key)]['skipped'] += 1
        for key in self.missing:
            table[_group(key)]['not in ckpt'] += 1
        return dict(table)

    def table(self) -> str:
        """A fixed-width table of :meth:`counts`, then the role mappings
        and every skipped tensor with its reason."""
        counts = self.counts()
        lines = [
            f'CiCo: {len(self.keys("inflated"))} 2D conv weights inflated '
            f'to 3D, {len(self.keys("expanded"))} expanded, '
            f'{len(self.keys("loaded"))} loaded as they are, '
            f'{len(self.skipped)} skipped; from a {self.layout} checkpoint, '
            'tensors per module group:'
        ] + group_count_table(counts, COLUMNS, 11)
        for source, target in self.roles:
            lines.append(f'role: {source}* -> {target}*')
        for key, reason in self.skipped.items():
            lines.append(f'skipped: {key}: {reason}')
        return '\n'.join(lines)


def convert_2d_state_dict(
    state_dict: Dict[str, Tensor],
    target_state_dict: Dict[str, Tensor],
    num_anchors: int,
    num_frames: int,
    prefix: str = '',
    track_from_box: bool = False,
    anchor_repeat: bool = True,
    expand_box: bool = True,
) -> Tuple['OrderedDict[str, Tensor]', CheckpointInitReport]:
    """Map a (2D) checkpoint onto CiCo's tensors.

    Args:
        state_dict (dict[str, Tensor]): The checkpoint's weights (keys with
            ``prefix``); not modified.
        target_state_dict (dict[str, Tensor]): The model's, keys with
            ``prefix`` (only shapes are read).
        num_anchors (int): Anchors per location A of the model's head.
        num_frames (int): Clip length T of the model's box layer (A * T * 4
            channels).
        prefix (str): Key prefix of the model in both dicts.
        track_from_box (bool): Where the checkpoint has no tracking tower,
            initialise it from the box tower's weights (the first conv of
            YOLACT's, all of CondInst's or a 2D CiCo's). The authors' code
            does not: its COCO models have no tracking tower and it keeps
            its Xavier initialisation. Defaults to False.
        anchor_repeat (bool): Repeat an anchor-free layer (O channels) for
            each of the A anchors of ``conv_cls``, ``conv_params``,
            ``conv_centerness`` (:func:`repeat_over_anchors`).
            Defaults to True.
        expand_box (bool): Expand a 2D box layer (A * 4 channels) to the
            clip's A * T * 4 (:func:`expand_box_frames`; the authors' code
            leaves it at its Xavier initialisation). Defaults to True.

    Returns:
        tuple: The state dict to load (the source's order and
        ``_metadata``; tensors that would not fit the model are removed;
        source keys without a counterpart are kept, for the loader to
        report as unexpected) and the :class:`CheckpointInitReport`.
    """
    layout = checkpoint_layout(list(state_dict), prefix)
    report = CheckpointInitReport(layout)
    role_skips = dict(yolact=YOLACT_SKIPS, condinst=CONDINST_SKIPS).get(
        layout, {})
    # a role applies to source names the model does not have, when the
    # checkpoint does not already have the targets
    roles = [(src, targets) for src, targets in YOLACT_ROLES + CONDINST_ROLES
             if not any(
                 k.startswith(prefix + t) for k in state_dict
                 for t in targets)]

    # 1. role mapping: renames, and the skips of another role
    source: Dict[str, str] = OrderedDict()  # new key -> source key
    renamed: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        name = key[len(prefix):] if key.startswith(prefix) else None
        reason = None if name is None else next(
            (r for p, r in role_skips.items() if name.startswith(p)), None)
        if reason is not None:
            report.skipped[key] = reason
            continue
        role = None if name is None or key in target_state_dict else next(
            ((s, ts) for s, ts in roles if name.startswith(s)), None)
        if role is None:
            renamed[key] = value
            source[key] = key
            continue
        src, targets = role
        for target in targets:
            new = prefix + target + name[len(src):]
            renamed[new] = value
            source[new] = key
            if (src, target) not in report.roles:
                report.roles.append((src, target))

    # 2. the tracking tower from the box tower, if it has no weights
    if track_from_box and not any(
            k.startswith(prefix + TRACK_TOWER) for k in renamed):
        for key in list(renamed):
            if key.startswith(prefix + BOX_TOWER):
                new = prefix + TRACK_TOWER + key[len(prefix + BOX_TOWER):]
                if new in target_state_dict:
                    renamed[new] = renamed[key]
                    source[new] = source[key]
                    if (BOX_TOWER, TRACK_TOWER) not in report.roles:
                        report.roles.append((BOX_TOWER, TRACK_TOWER))

    # 3. 2D -> 3D inflation
    inflated, inflated_keys = inflate_state_dict(
        renamed,
        target_state_dict,
        centre_weighted_prefixes=tuple(prefix + p for p in CENTRE_WEIGHTED))
    how = dict.fromkeys(inflated_keys, 'inflated')

    # 4. box frames, anchors; shape checks
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    misfits = []  # target keys whose tensor does not fit
    for key, value in inflated.items():
        target = target_state_dict.get(key)
        if not key.startswith(prefix):  # another module's
            out[key] = value
            continue
        if target is None:
            # no counterpart: a source name is left for the loader to report
            # as unexpected; a name given here by a role is dropped
            report.skipped[source[key]] = 'no counterpart in this model' + (
                f' (as {key})' if source[key] != key else '')
            if source[key] == key:
                out[key] = value
            continue
        name = key[len(prefix):]
        if value.shape != target.shape and value.dim() == target.dim():
            if (expand_box and name.startswith(BOX_LAYER)
                    and value.size(0) == num_anchors * 4
                    and target.size(0) == num_anchors * num_frames * 4
                    and value.shape[1:] == target.shape[1:]):
                value = expand_box_frames(value, num_anchors, num_frames)
                how[key] = 'expanded'
            elif (anchor_repeat and name.startswith(ANCHOR_REPEAT_LAYERS)
                  and num_anchors > 1
                  and value.size(0) * num_anchors == target.size(0)
                  and value.shape[1:] == target.shape[1:]):
                value = repeat_over_anchors(value, num_anchors)
                how[key] = 'expanded'
        if value.shape != target.shape:
            misfits.append(key)
            report.skipped[source[key]] = (
                f'shape differs: {tuple(value.shape)} (as {key}) -> '
                f'{tuple(target.shape)}')
            continue
        out[key] = value
        report.loaded[key] = (how.get(key, 'loaded'), source[key])
    # a layer is taken whole or not at all (no bias without its weight)
    failed = {_layer(k) for k in misfits}
    for key in [k for k in report.loaded if _layer(k) in failed]:
        src = report.loaded.pop(key)[1]
        del out[key]
        report.skipped[src] = f'its layer {_layer(key)} is not loaded whole'
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        out._metadata = metadata
    report.missing = [k for k in target_state_dict if k not in out]
    return out, report


def load_2d_checkpoint(module,
                       state_dict: dict,
                       prefix: str,
                       *args,
                       track_from_box: bool = False,
                       anchor_repeat: bool = True,
                       expand_box: bool = True,
                       logger: Optional[str] = 'current') -> None:
    """Load-state-dict pre-hook of :class:`CiCo`: 2D checkpoints into the
    clip model.

    Rewrites ``state_dict`` in place with :func:`convert_2d_state_dict`
    (the model's anchors per location and clip length from its
    ``bbox_head``) and logs the report's table when the checkpoint is not
    simply this model's own (something was mapped, inflated, expanded or
    skipped). A CiCo checkpoint of the same architecture passes unchanged;
    any other (mmdet's, or 2D tensors inflated or expanded) is marked as
    converted (an initialisation, see
    :func:`~mmvis_clip.utils.checkpoint_loading.mark_converted`).

    Register with ``module.register_load_state_dict_pre_hook(
    functools.partial(load_2d_checkpoint, **options))``.

    Args:
        module (CiCo): The model (``bbox_head.num_base_priors``,
            ``bbox_head.num_frames``).
        state_dict (dict): Modified in place.
        prefix (str): The model's key prefix.
        *args: The rest of torch's pre-hook arguments (unused).
        track_from_box, anchor_repeat, expand_box: See
            :func:`convert_2d_state_dict`.
        logger (str, optional): ``print_log``'s logger; None logs nothing.
    """
    target = {prefix + k: v for k, v in module.state_dict().items()}
    head = module.bbox_head
    converted, report = convert_2d_state_dict(
        state_dict,
        target,
        num_anchors=head.num_base_priors,
        num_frames=head.num_frames,
        prefix=prefix,
        track_from_box=track_from_box,
        anchor_repeat=anchor_repeat,
        expand_box=expand_box)
    state_dict.clear()
    state_dict.update(converted)
    reshaped = any(h != 'loaded' for h, _ in report.loaded.values())
    if report.layout != 'cico' or reshaped:
        source = dict(yolact='an mmdet YOLACT', condinst='an mmdet CondInst')
        mark_converted(
            state_dict,
            source.get(report.layout, 'a frame-level (2D) CiCo') +
            ' checkpoint, mapped to CiCo')
    if logger is not None and (report.layout != 'cico' or report.skipped
                               or reshaped):
        print_log(report.table(), logger=logger)
