"""The patient compartment for ``Patient/$everything``.

A resource is in a patient's compartment when one of its references points at the patient — the
CompartmentDefinition's parameters are all such references — plus, as $everything asks, the
resources those point at (practitioners, organizations, medications, locations…).
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, select

from osler.chronicle.schema import idx_reference, resource

R = idx_reference.c


def everything_pks(conn: Connection, patient_pk: int, patient_id: str) -> list[int]:
    members = [row.res_pk for row in conn.execute(
        select(R.res_pk).where(R.target_type == "Patient", R.target_id == patient_id).distinct()
        .order_by(R.res_pk))]
    ordered = [patient_pk, *(pk for pk in members if pk != patient_pk)]
    seen = set(ordered)
    referenced = conn.execute(
        select(resource.c.pk).select_from(idx_reference.join(
            resource, and_(resource.c.res_type == R.target_type, resource.c.res_id == R.target_id)))
        .where(R.res_pk.in_(select(R.res_pk).where(R.target_type == "Patient", R.target_id == patient_id)),
               resource.c.deleted.is_(False))
        .distinct().order_by(resource.c.pk)).scalars()
    for pk in referenced:
        if pk not in seen:
            seen.add(pk)
            ordered.append(pk)
    return ordered
