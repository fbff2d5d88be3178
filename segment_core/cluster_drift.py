"""How well a stored cluster model fits new contacts: the measure behind keep-or-refit.

Kept apart from ``clusters`` so that reading it (a run summary, a report) does not import
scikit-learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Drift:
    """How well a stored model fits new contacts.

    ``mean_distance``: mean distance of the contacts to their nearest stored centroid (in the
    stored model's feature space); ``reference_distance``: the same when the model was trained;
    ``share_shift``: total variation distance between the cluster shares then and now.
    """

    mean_distance: float
    reference_distance: float
    share_shift: float

    @property
    def distance_increase(self) -> float:
        """Relative rise of the mean distance (0.25: contacts are 25% further from centroids)."""
        if self.reference_distance == 0:
            return 0.0 if self.mean_distance == 0 else math.inf
        return self.mean_distance / self.reference_distance - 1.0

    def exceeds(self, distance_threshold: float, share_threshold: float) -> bool:
        return self.distance_increase > distance_threshold or self.share_shift > share_threshold

    def to_dict(self) -> dict[str, float]:
        return {
            "mean_distance": self.mean_distance,
            "reference_distance": self.reference_distance,
            "distance_increase": self.distance_increase,
            "share_shift": self.share_shift,
        }
