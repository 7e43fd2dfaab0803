-- The components of an Observation (a blood-pressure panel's systolic and diastolic), one row each.
with source as (select * from {{ fhir_current('Observation') }}),
components as (
    select res_id as observation_id, unnest(json_extract(resource, '$.component[*]')) as component,
           generate_subscripts(json_extract(resource, '$.component[*]'), 1) as component_number
    from source
)
select
    observation_id,
    component_number,
    json_extract_string(component, '$.code.coding[0].code') as code,
    try_cast(json_extract_string(component, '$.valueQuantity.value') as double) as value_number,
    coalesce(json_extract_string(component, '$.valueQuantity.unit'),
             json_extract_string(component, '$.valueQuantity.code')) as value_unit
from components
