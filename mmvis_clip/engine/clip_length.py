"""The training clips' length from the model's: ``model.num_frames`` (CiCo)
is the one owner of the clip length T."""
from typing import Any, List, Optional

from mmengine.config import Config

from ..utils.user_errors import UserError

#: Config types that cut clips of ``num_frames`` frames for a clip model.
CLIP_SAMPLERS = ('ContiguousClipSample', 'ImageAsClip',
                 'ImagesAsPseudoVideos')
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _type_name(node: dict) -> str:
    kind = node.get('type')
    return kind if isinstance(kind, str) else getattr(kind, '__name__', '')


def apply_clip_length(cfg: Config) -> List[str]:
    """Give every clip sampler of ``cfg``'s dataloaders that sets no
    ``num_frames`` the model's ``num_frames``.

    Args:
        cfg (Config): A config; changed in place. Nothing happens when its
            model has no ``num_frames``.

    Returns:
        list[str]: The keys set, e.g.
        ``train_dataloader.dataset.pipeline.0.num_frames``.

    Raises:
        UserError: A sampler sets another ``num_frames`` than the model's
            (one line naming both keys).
    """
    model = cfg.get('model', None)
    num_frames: Optional[int] = model.get('num_frames') if isinstance(
        model, dict) else None
    if num_frames is None:
        return []
    changed = []

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if _type_name(node) in CLIP_SAMPLERS:
                value = node.get('num_frames')
                if value is None:
                    node['num_frames'] = num_frames
                    changed.append(f'{path}.num_frames')
                elif value != num_frames:
                    raise UserError(
                        f'{path}.num_frames={value} ({_type_name(node)}) '
                        f'but model.num_frames={num_frames}: leave it out '
                        '(the clips follow model.num_frames) or make the two '
                        'equal')
            for key, value in node.items():
                visit(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                visit(value, f'{path}.{index}')

    for name in DATALOADERS:
        visit(cfg.get(name, None), name)
    return changed
