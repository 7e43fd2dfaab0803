"""The cohort explorer (Epic: SlicerDicer): criteria, slicing and small-cell suppression over the warehouse."""

from osler.analytics.cohorts.criteria import Cohort, LabRange
from osler.analytics.cohorts.explore import CohortTable, explore
from osler.analytics.cohorts.suppression import Line, Mark, suppress

__all__ = ["Cohort", "CohortTable", "LabRange", "Line", "Mark", "explore", "suppress"]
