"""A task's metric by group, with intervals: WER and CER from edit counts, regression errors, NDCG and exposure for rankings, or
any function of a table; the bootstrap resamples units (speakers, queries) when rows are not independent."""

from assay.tasks._bygroup import METRICS, GroupMetrics, by_group
from assay.tasks._edits import edit_counts

__all__ = ["METRICS", "GroupMetrics", "by_group", "edit_counts"]
