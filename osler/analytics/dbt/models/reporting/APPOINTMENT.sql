-- APPOINTMENT (Clarity: F_SCHED_APPT): one row per appointment with the visit's clock from its encounter —
-- checked in (arrival), roomed, seen by the provider, checked out.
with visits as (
    select appointment_id, encounter_id, arrived_at, roomed_at, seen_at, checked_out_at,
           row_number() over (partition by appointment_id order by period_start) as nth
    from {{ ref('stg_fhir__encounter') }}
    where appointment_id is not null and reject_reason is null
)
select
    a.appointment_id as APPT_ID,
    a.patient_id as PAT_ID,
    v.encounter_id as PAT_ENC_CSN_ID,
    case a.status
        when 'booked' then 'Scheduled' when 'pending' then 'Scheduled' when 'proposed' then 'Scheduled'
        when 'waitlist' then 'Scheduled'
        when 'arrived' then 'Arrived' when 'checked-in' then 'Arrived'
        when 'fulfilled' then 'Completed' when 'cancelled' then 'Canceled' when 'noshow' then 'No Show'
        else 'Unknown'
    end as APPT_STATUS,
    a.start_at as APPT_DTTM,
    coalesce(a.minutes, cast({{ minutes_between('a.start_at', 'a.end_at') }} as integer)) as APPT_LENGTH,
    a.visit_type as PRC_NAME,
    a.practitioner_id as PROV_ID,
    case when l.is_room then l.parent_location_id else a.location_id end as DEPARTMENT_ID,
    a.created_at as APPT_MADE_DTTM,
    a.cancel_reason as CANCEL_REASON,
    v.arrived_at as CHECKIN_DTTM,
    v.roomed_at as ROOMED_DTTM,
    v.seen_at as SEEN_BY_PROV_DTTM,
    v.checked_out_at as CHECKOUT_DTTM
from {{ ref('stg_fhir__appointment') }} as a
left join visits as v on v.appointment_id = a.appointment_id and v.nth = 1
left join {{ ref('stg_fhir__location') }} as l on l.location_id = a.location_id
where a.reject_reason is null
