-- Schedule (Cadence): whose time it plans — a provider's (its Practitioner and PractitionerRole), a room's
-- or a device's (the schedule-kind tag) — and the department tag.
with source as (select * from {{ fhir_current('Schedule') }})
select
    res_id as schedule_id,
    json_extract_string(list_filter(json_extract(resource, '$.meta.tag[*]'),
        lambda t: json_extract_string(t, '$.system') = 'urn:osler:cadence:schedule-kind')[1], '$.code') as schedule_kind,
    json_extract_string(list_filter(json_extract(resource, '$.meta.tag[*]'),
        lambda t: json_extract_string(t, '$.system') = 'urn:osler:cadence:department')[1], '$.code') as department_code,
    regexp_extract(json_extract_string(list_filter(json_extract(resource, '$.actor[*]'),
        lambda a: starts_with(json_extract_string(a, '$.reference'), 'Practitioner/'))[1], '$.reference'),
        'Practitioner/([^/]+)$', 1) as practitioner_id,
    regexp_extract(json_extract_string(list_filter(json_extract(resource, '$.actor[*]'),
        lambda a: starts_with(json_extract_string(a, '$.reference'), 'PractitionerRole/'))[1], '$.reference'),
        'PractitionerRole/([^/]+)$', 1) as practitioner_role_id,
    coalesce(try_cast({{ fhir_string('$.active') }} as boolean), true) as active
from source
