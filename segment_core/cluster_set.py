"""A fitted cluster set as segments: what the rest of segsync sees of a ``ClusterSegmenter``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from segment_core.clusters import ClusterSegmenter
from segment_core.coerce import CoercedFrame
from segment_core.segments import ClusterSegment


@dataclass(frozen=True, eq=False)
class ClusterSegmentSet:
    """A fitted ``ClusterSegmenter`` as segments: one per cluster, all at ``priority``.

    ``fitted_on`` is the frame the segmenter was just fitted on, when it was: the memberships
    of that very frame are the fit's ``labels_``, not a second prediction of every contact.
    """

    name: str
    priority: int
    segmenter: ClusterSegmenter
    fitted_on: CoercedFrame | pd.DataFrame | None = field(default=None, repr=False)

    @property
    def segments(self) -> tuple[ClusterSegment, ...]:
        return self.segmenter.segments(self.priority, self.name)

    def memberships(self, frame: CoercedFrame | pd.DataFrame) -> pd.DataFrame:
        """One bool column per cluster (by id), named after it; each contact in exactly one."""
        ids = self.labels(frame)
        labels = ids.to_numpy()
        columns = {segment.name: labels == segment.cluster_id for segment in self.segments}
        return pd.DataFrame(columns, index=ids.index, dtype=bool)

    def labels(self, frame: CoercedFrame | pd.DataFrame) -> pd.Series:
        """The cluster id of each contact of ``frame``: the fit's own when it is ``fitted_on``."""
        if frame is self.fitted_on:
            return self.segmenter.labels_
        return self.segmenter.predict(frame)
