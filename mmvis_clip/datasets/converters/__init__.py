"""Annotation format converters."""
from ...structures.vis_format import VISFormatError
from .cocotrack2ytvis import convert_coco_tracks_to_ytvis
from .frames2ytvis import (ClassMap, convert_frames_to_ytvis, frames2ytvis,
                           natural_sort_key, read_instance_id_mask)
from .labelme2ytvis import convert_labelme_to_ytvis
from .mots2ytvis import convert_mots_to_ytvis
from .vis2cocovid import (VIS_SPLITS, VIS_VERSIONS, cocovid_ann_name,
                          convert_vis_data_root, convert_vis_file,
                          convert_vis_to_cocovid, raw_vis_ann_path,
                          summarize_cocovid)
from .ytvis_tracks import SourceClassMap

__all__ = [
    'ClassMap', 'convert_frames_to_ytvis', 'frames2ytvis',
    'natural_sort_key', 'read_instance_id_mask', 'VIS_SPLITS',
    'VIS_VERSIONS', 'VISFormatError', 'cocovid_ann_name',
    'convert_vis_data_root', 'convert_vis_file', 'convert_vis_to_cocovid',
    'raw_vis_ann_path', 'summarize_cocovid', 'SourceClassMap',
    'convert_coco_tracks_to_ytvis', 'convert_labelme_to_ytvis',
    'convert_mots_to_ytvis'
]
