"""Task modules (samplers, assignment helpers) of the models."""
from .embedding_sampling import (ContrastivePairSampler, assignment_to_grid,
                                 grid_cell_centres, grid_cells_in_boxes,
                                 grid_cells_in_image, points_to_grid_cells,
                                 sample_embeddings_at_points)

__all__ = [
    'ContrastivePairSampler', 'assignment_to_grid', 'grid_cell_centres',
    'grid_cells_in_boxes', 'grid_cells_in_image', 'points_to_grid_cells',
    'sample_embeddings_at_points'
]
