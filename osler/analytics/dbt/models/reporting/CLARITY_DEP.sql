-- CLARITY_DEP (Clarity): departments — the Locations that are not exam rooms.
select
    location_id as DEPARTMENT_ID,
    name as DEPARTMENT_NAME,
    external_code as DEPT_ABBREVIATION,
    organization_id as REV_LOC_ID,
    city as CITY,
    state as STATE,
    case when status = 'inactive' then 'Inactive' else 'Active' end as RECORD_STATUS
from {{ ref('stg_fhir__location') }}
where not is_room
