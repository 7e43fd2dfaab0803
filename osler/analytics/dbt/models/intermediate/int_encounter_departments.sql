-- The department of each encounter: the encounter's first location, or else its appointment's location;
-- an exam room stands for the department it is part of.
with encounters as (
    select encounter_id, coalesce(e.location_id, a.location_id) as location_id
    from {{ ref('stg_fhir__encounter') }} as e
    left join {{ ref('stg_fhir__appointment') }} as a using (appointment_id)
    where e.reject_reason is null
)
select
    encounters.encounter_id,
    case when locations.is_room then locations.parent_location_id else locations.location_id end as department_id,
    case when locations.is_room then locations.location_id end as room_id
from encounters
left join {{ ref('stg_fhir__location') }} as locations using (location_id)
