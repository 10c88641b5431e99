"""Annotation format converters."""
from ...utils.vis_format import VISFormatError
from .frames2ytvis import (ClassMap, convert_frames_to_ytvis, frames2ytvis,
                           natural_sort_key, read_instance_id_mask)
from .vis2cocovid import (VIS_SPLITS, VIS_VERSIONS, cocovid_ann_name,
                          convert_vis_data_root, convert_vis_file,
                          convert_vis_to_cocovid, raw_vis_ann_path,
                          summarize_cocovid)

__all__ = [
    'ClassMap', 'convert_frames_to_ytvis', 'frames2ytvis',
    'natural_sort_key', 'read_instance_id_mask', 'VIS_SPLITS',
    'VIS_VERSIONS', 'VISFormatError', 'cocovid_ann_name',
    'convert_vis_data_root', 'convert_vis_file', 'convert_vis_to_cocovid',
    'raw_vis_ann_path', 'summarize_cocovid'
]
