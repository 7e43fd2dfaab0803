-- Schedule (Cadence): whose time it plans — a provider's (its Practitioner and PractitionerRole), a room's
-- or a device's (the schedule-kind tag) — and the department tag.
{{ config(tags=['fhir_Schedule'], unique_key='schedule_id', pre_hook="{{ forget_changed('Schedule', 'schedule_id') }}") }}
{% call fhir_source('Schedule') %}
select
    res_id as schedule_id,
    extract_seq,
    {{ fhir_first('$.meta.tag', '$.code', [('$.system', '=', 'urn:osler:cadence:schedule-kind')]) }} as schedule_kind,
    {{ fhir_first('$.meta.tag', '$.code', [('$.system', '=', 'urn:osler:cadence:department')]) }} as department_code,
    {{ reference_id(fhir_first('$.actor', '$.reference', [('$.reference', 'starts_with', 'Practitioner/')]),
                    'Practitioner') }} as practitioner_id,
    {{ reference_id(fhir_first('$.actor', '$.reference', [('$.reference', 'starts_with', 'PractitionerRole/')]),
                    'PractitionerRole') }} as practitioner_role_id,
    coalesce({{ fhir_boolean('$.active') }}, true) as active
from source
{% endcall %}
