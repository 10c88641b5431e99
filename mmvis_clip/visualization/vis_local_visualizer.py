"""mmdet's video visualizer with one fixed colour per instance id."""
import colorsys
from typing import Tuple

import numpy as np
from mmdet.registry import VISUALIZERS
from mmdet.structures.mask import bitmap_to_polygon
from mmdet.visualization import TrackLocalVisualizer
from mmdet.visualization.palette import _get_adaptive_scales
from mmengine.structures import InstanceData

from ..structures.frame_result import as_numpy

#: The golden ratio conjugate: hue step between consecutive ids, so that
#: ids close in value (tracks born close in time) get far-apart hues.
GOLDEN_RATIO_CONJUGATE = 0.6180339887498949


def instance_color(instance_id: int) -> Tuple[int, int, int]:
    """The RGB colour of an instance id, the same in every frame and run:
    hue ``(id * 0.618...) mod 1``, saturation 0.65, value 0.95."""
    hue = (int(instance_id) * GOLDEN_RATIO_CONJUGATE) % 1.0
    rgb = colorsys.hsv_to_rgb(hue, 0.65, 0.95)
    return tuple(int(round(255 * c)) for c in rgb)


@VISUALIZERS.register_module()
class VISLocalVisualizer(TrackLocalVisualizer):
    """``TrackLocalVisualizer`` drawing each instance (RGB images) in the
    colour of its id (:func:`instance_color`), labelled ``class name / id |
    score``."""

    def _draw_instances(self, image: np.ndarray,
                        instances: InstanceData) -> np.ndarray:
        """Draw ``instances`` (``instances_id``, ``labels``, optional
        ``bboxes`` (N, 4), ``masks`` (N, H, W) bool, ``scores``) on the RGB
        ``image``; returns the drawn RGB image."""
        self.set_image(image)
        if len(instances) == 0:
            return self.get_image()
        classes = self.dataset_meta.get('classes', None)
        ids = [int(i) for i in instances.instances_id]
        colors = [instance_color(i) for i in ids]
        names = [
            classes[int(label)] if classes else f'cls{int(label)}'
            for label in instances.labels
        ]
        if 'scores' in instances:
            texts = [
                f'{name}\n{i} | {float(score):.2f}'
                for name, i, score in zip(names, ids, instances.scores)
            ]
        else:
            texts = [f'{name}\n{i}' for name, i in zip(names, ids)]

        if 'masks' in instances:
            masks = as_numpy(instances.masks).astype(bool)
            polygons = []
            for mask in masks:
                contours, _ = bitmap_to_polygon(mask)
                polygons.extend(contours)
            if polygons:
                self.draw_polygons(
                    polygons, edge_colors='w', alpha=self.alpha)
            self.draw_binary_masks(masks, colors=colors, alphas=self.alpha)

        if 'bboxes' in instances:
            bboxes = as_numpy(instances.bboxes).copy()
            self.draw_bboxes(
                bboxes,
                edge_colors=colors,
                alpha=self.alpha,
                line_widths=self.line_width)
            positions = bboxes[:, :2] + self.line_width
            areas = (bboxes[:, 3] - bboxes[:, 1]) * (
                bboxes[:, 2] - bboxes[:, 0])
            scales = _get_adaptive_scales(areas)
            for i, pos in enumerate(positions):
                self.draw_texts(
                    texts[i],
                    pos,
                    colors='black',
                    font_sizes=int(13 * scales[i]),
                    bboxes=[{
                        'facecolor': [c / 255 for c in colors[i]],
                        'alpha': 0.8,
                        'pad': 0.7,
                        'edgecolor': 'none'
                    }])
        return self.get_image()
