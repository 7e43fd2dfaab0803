-- PAT_ENC (Clarity): one row per encounter (contact), keyed by its CSN.
with appointments as (select appointment_id, status from {{ ref('stg_fhir__appointment') }})
select
    e.encounter_id as PAT_ENC_CSN_ID,
    e.patient_id as PAT_ID,
    cast(e.period_start as date) as CONTACT_DATE,
    e.period_start as EFFECTIVE_DATE_DTTM,
    e.period_end as ENC_CLOSE_TIME,
    e.class_code as ENC_CLASS,
    e.type_text as ENC_TYPE,
    e.status as ENC_STATUS,
    d.department_id as DEPARTMENT_ID,
    e.practitioner_id as VISIT_PROV_ID,
    e.organization_id as SERV_AREA_ID,
    e.appointment_id as APPT_ID,
    case coalesce(a.status, e.status)
        when 'booked' then 'Scheduled' when 'pending' then 'Scheduled' when 'proposed' then 'Scheduled'
        when 'planned' then 'Scheduled'
        when 'arrived' then 'Arrived' when 'checked-in' then 'Arrived' when 'triaged' then 'Arrived'
        when 'in-progress' then 'Arrived'
        when 'fulfilled' then 'Completed' when 'finished' then 'Completed'
        when 'cancelled' then 'Canceled' when 'noshow' then 'No Show'
        else 'Unknown'
    end as APPT_STATUS
from {{ ref('stg_fhir__encounter') }} as e
left join {{ ref('int_encounter_departments') }} as d using (encounter_id)
left join appointments as a using (appointment_id)
where e.reject_reason is null
