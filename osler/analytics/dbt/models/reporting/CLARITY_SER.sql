-- CLARITY_SER (Clarity): providers, one row per practitioner, with the specialty of their first role.
with roles as (
    select practitioner_id, min(specialty_text) as specialty
    from {{ ref('stg_fhir__practitioner_role') }}
    where reject_reason is null
    group by practitioner_id
)
select
    p.practitioner_id as PROV_ID,
    upper(coalesce(p.family_name, '')) || ', ' || upper(coalesce(p.given_name, '')) as PROV_NAME,
    p.npi as NPI,
    case p.gender when 'female' then 'Female' when 'male' then 'Male' else 'Unknown' end as SEX,
    roles.specialty as SPECIALTY,
    case when p.active then 'Active' else 'Inactive' end as ACTIVE_STATUS
from {{ ref('stg_fhir__practitioner') }} as p
left join roles using (practitioner_id)
