"""Trackers that link per-frame or per-clip detections into video tracks."""
from .clip_tracker import ClipTracker
from .result_track_summaries import ResultTrackSummaries
from .stc_tracker import STCTracker
from .track_assignment import assign_detections_to_tracks
from .track_record import TrackRecord, TrackSummary, majority_label
from .vis_tracker_base import VISTrackerBase

__all__ = [
    'ClipTracker', 'ResultTrackSummaries', 'STCTracker', 'TrackRecord',
    'TrackSummary', 'VISTrackerBase', 'assign_detections_to_tracks',
    'majority_label'
]
