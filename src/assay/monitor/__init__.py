"""Monitoring: mergeable profiles, baselines and constraints in Model Monitor's shape, and checks of new data against them."""

from assay.monitor._profile import ColumnProfile, Profile, profile

__all__ = ["ColumnProfile", "Profile", "profile"]
