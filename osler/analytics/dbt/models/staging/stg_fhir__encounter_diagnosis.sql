-- An Encounter's diagnosis list: each Condition it names, with its rank (1 is primary) and use.
with source as (select * from {{ fhir_current('Encounter') }}),
entries as (
    select res_id as encounter_id, unnest(json_extract(resource, '$.diagnosis[*]')) as entry,
           generate_subscripts(json_extract(resource, '$.diagnosis[*]'), 1) as position
    from source
)
select
    encounter_id,
    nullif(regexp_extract(json_extract_string(entry, '$.condition.reference'), '(^|/)Condition/([^/]+)$', 2), '')
        as condition_id,
    coalesce(try_cast(json_extract_string(entry, '$.rank') as integer), position) as diagnosis_rank,
    json_extract_string(entry, '$.use.coding[0].code') as diagnosis_use
from entries
