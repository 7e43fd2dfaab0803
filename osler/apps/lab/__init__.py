"""Beaker: the lab — specimens collected against lab orders (with accession numbers), received,
resulted (Observations flagged against reference ranges, a DiagnosticReport, the ordering clinician's
review Task — urgent for critical values), released to the patient's portal inbox per policy,
commented on and corrected with the history kept. Everything is plain FHIR R4 through the Chronicle.

Every call takes a ``Clinic`` first and an ``Actor`` by keyword. Bad input is refused before anything
is written: 404 an unknown order, accession or report; 409 an order that is not active, a specimen
not yet received or already resulted; 422 a component, unit or value that does not fit the test.

===================  ==============================================================
module               owns
===================  ==============================================================
``catalog.json``     the orderable tests, their specimens and result components
``catalog``          reading it: ``LabTest``, ``Component``, ``lab_test``
``vocabulary``       the identifiers, tags and extensions the lab writes; its errors
``requests``         the request models (pydantic), shared with the HTTP API
``measurements``     checking a value against its test; flags N, L, H, LL, HH, A (pure)
``accession``        accession numbers, unique under concurrency
``specimens``        collect, receive, the worklist
``reports``          building Observations, the DiagnosticReport, the review Task (pure)
``results``          filing results: the one-transaction hot path
``release``          release to the patient (now or after a hold), clinician comments
``corrections``      corrected results as new versions, history kept
===================  ==============================================================
"""

from osler.apps.lab.catalog import Component, LabTest, catalog, lab_test
from osler.apps.lab.corrections import correct_results
from osler.apps.lab.measurements import Measurement
from osler.apps.lab.release import Commented, add_result_comment, register_lab, release_due_results
from osler.apps.lab.requests import Collection, Correction, Receipt, ResultComment, ResultFiling, ResultValue
from osler.apps.lab.results import Filed, file_results
from osler.apps.lab.specimens import WorkItem, collect_specimen, find_specimen, receive_specimen, worklist
from osler.apps.lab.vocabulary import InvalidResult, UnknownAccession, UnknownTest, WrongState

__all__ = [
    "Collection",
    "Commented",
    "Component",
    "Correction",
    "Filed",
    "InvalidResult",
    "LabTest",
    "Measurement",
    "Receipt",
    "ResultComment",
    "ResultFiling",
    "ResultValue",
    "UnknownAccession",
    "UnknownTest",
    "WorkItem",
    "WrongState",
    "add_result_comment",
    "catalog",
    "collect_specimen",
    "correct_results",
    "file_results",
    "find_specimen",
    "lab_test",
    "receive_specimen",
    "register_lab",
    "release_due_results",
    "worklist",
]
