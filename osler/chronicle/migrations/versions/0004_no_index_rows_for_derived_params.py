"""no index rows for derived search parameters

A parameter that is a view of others of its resource type (``patient`` = ``subject`` pointing at a
Patient, Observation's ``combo-code`` = ``code`` | ``component-code``…) is answered from their rows
since this revision (see ``osler.fhir.derived_params``); the copies written before are never read.
The list is what ``derived_params`` found in the R4 definitions when this revision was written.

For that, a reference whose text names no type (``urn:uuid:…``, an identifier alone) now carries its
declared ``Reference.type`` in its rows, as ``resolve() is X`` reads it: such resources' reference rows
are written again from their stored content.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 22:30:00
"""

import orjson
from alembic import op
from sqlalchemy import text

from osler.chronicle.rows import insert_index
from osler.fhir.index_types import ReferenceEntry
from osler.fhir.indexing import extract_index

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

DERIVED: dict[str, list[tuple[str, str]]] = {
    "idx_reference": [
        ("Account", "patient"), ("Appointment", "location"), ("Appointment", "patient"),
        ("Appointment", "practitioner"), ("AppointmentResponse", "location"),
        ("AppointmentResponse", "patient"), ("AppointmentResponse", "practitioner"), ("Basic", "patient"),
        ("CarePlan", "patient"), ("CareTeam", "patient"), ("ChargeItem", "patient"),
        ("ClinicalImpression", "patient"), ("Communication", "patient"), ("CommunicationRequest", "patient"),
        ("Composition", "patient"), ("Condition", "patient"), ("Contract", "patient"),
        ("DeviceRequest", "patient"), ("DiagnosticReport", "patient"), ("DocumentManifest", "patient"),
        ("DocumentReference", "patient"), ("Encounter", "patient"), ("Encounter", "practitioner"),
        ("Flag", "patient"), ("Goal", "patient"), ("GuidanceResponse", "patient"), ("ImagingStudy", "patient"),
        ("Invoice", "patient"), ("List", "patient"), ("MeasureReport", "patient"), ("Media", "patient"),
        ("MedicationAdministration", "patient"), ("MedicationDispense", "patient"),
        ("MedicationRequest", "patient"), ("MedicationStatement", "patient"), ("Observation", "patient"),
        ("Person", "patient"), ("Person", "practitioner"), ("Person", "relatedperson"),
        ("Procedure", "patient"), ("Provenance", "patient"), ("QuestionnaireResponse", "patient"),
        ("RequestGroup", "patient"), ("RiskAssessment", "patient"), ("ServiceRequest", "patient"),
        ("Specimen", "patient"), ("Task", "patient"),
    ],
    "idx_token": [
        ("Observation", "combo-code"), ("Observation", "combo-data-absent-reason"),
        ("Observation", "combo-value-concept"),
    ],
    "idx_composite": [
        ("Observation", "combo-code-value-concept"), ("Observation", "combo-code-value-quantity"),
    ],
    "idx_quantity": [
        ("Observation", "combo-value-quantity"),
    ],
}


def upgrade() -> None:
    for table, pairs in DERIVED.items():
        for res_type, param in pairs:
            op.execute(text(f"DELETE FROM {table} WHERE res_type = :res_type AND param = :param")
                       .bindparams(res_type=res_type, param=param))
    _reindex_untyped_references()


def _reindex_untyped_references() -> None:
    conn = op.get_bind()
    untyped = conn.execute(text(
        "SELECT DISTINCT r.pk, r.res_type, r.content FROM idx_reference i JOIN resource r ON r.pk = i.res_pk "
        "WHERE i.target_type IS NULL AND (i.url IS NOT NULL OR i.ident_system IS NOT NULL "
        "OR i.ident_value IS NOT NULL) AND r.content IS NOT NULL")).all()
    for pk, res_type, content in untyped:
        conn.execute(text("DELETE FROM idx_reference WHERE res_pk = :pk"), {"pk": pk})
        fresh = [row for row in extract_index(orjson.loads(content)) if isinstance(row, ReferenceEntry)]
        insert_index(conn, [(pk, res_type, fresh)])


def downgrade() -> None:
    # Revision 0003's code searched these parameters in their own rows, which new writes no longer have:
    # going back needs the resources re-indexed (re-load them), not a schema change.
    pass
