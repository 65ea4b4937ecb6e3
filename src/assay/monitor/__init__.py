"""Monitoring: mergeable profiles, baselines and constraints in Model Monitor's shape, and checks of new data against them.

from assay import monitor
monitor.baseline("train.parquet", "base/")                       # statistics.json, constraints.json
checked = monitor.check("today.parquet", "base/", "out/")        # constraint_violations.json
result, spec = monitor.run("log.parquet", "base/", "monitor.yaml")   # every window, as a series
"""

from assay.monitor._api import Checked, baseline, check, monitor_spec, run
from assay.monitor._baseline import baseline_documents
from assay.monitor._profile import ColumnProfile, Profile, profile
from assay.monitor._windows import send_alerts

__all__ = ["Checked", "ColumnProfile", "Profile", "baseline", "baseline_documents", "check", "monitor_spec", "profile", "run", "send_alerts"]
