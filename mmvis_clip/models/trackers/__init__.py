"""Trackers that link per-frame or per-clip detections into video tracks."""
from .clip_tracker import ClipTracker
from .stc_tracker import STCTracker
from .track_assignment import assign_detections_to_tracks
from .track_record import TrackRecord
from .vis_tracker_base import VISTrackerBase

__all__ = [
    'ClipTracker', 'STCTracker', 'TrackRecord', 'VISTrackerBase',
    'assign_detections_to_tracks'
]
