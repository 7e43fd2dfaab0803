-- AppointmentFact (Caboodle): one row per appointment — scheduled, arrived, roomed, seen, checked out — with
-- the patient's wait in minutes (arrival → roomed → seen) and its status, no-shows included.
select
    {{ surrogate_key("'Appointment|' || a.APPT_ID") }} as AppointmentKey,
    a.APPT_ID as AppointmentEpicId,
    {{ patient_version_columns() }},
    coalesce(department.DepartmentKey, -1) as DepartmentKey,
    coalesce(provider.ProviderKey, -1) as ProviderKey,
    encounter.EncounterKey,
    {{ date_key(utc_date('a.APPT_DTTM')) }} as AppointmentDateKey,
    a.APPT_DTTM as ScheduledInstant,
    a.APPT_LENGTH as ScheduledLengthInMinutes,
    a.PRC_NAME as VisitType,
    a.APPT_STATUS as AppointmentStatus,
    a.APPT_STATUS = 'No Show' as IsNoShow,
    a.APPT_STATUS = 'Canceled' as IsCanceled,
    a.APPT_STATUS = 'Completed' as IsCompleted,
    a.APPT_MADE_DTTM as MadeInstant,
    a.CHECKIN_DTTM as ArrivalInstant,
    a.ROOMED_DTTM as RoomedInstant,
    a.SEEN_BY_PROV_DTTM as SeenInstant,
    a.CHECKOUT_DTTM as CheckOutInstant,
    {{ minutes_between('a.CHECKIN_DTTM', 'a.ROOMED_DTTM') }} as ArrivalToRoomedMinutes,
    {{ minutes_between('a.ROOMED_DTTM', 'a.SEEN_BY_PROV_DTTM') }} as RoomedToSeenMinutes,
    {{ minutes_between('a.CHECKIN_DTTM', 'a.SEEN_BY_PROV_DTTM') }} as ArrivalToSeenMinutes,
    {{ minutes_between('a.CHECKIN_DTTM', 'a.CHECKOUT_DTTM') }} as ArrivalToCheckOutMinutes
from {{ ref('APPOINTMENT') }} as a
{{ patient_version_joins('a.PAT_ID', utc_date('a.APPT_DTTM')) }}
left join {{ ref('DepartmentDim') }} as department on department.DepartmentEpicId = a.DEPARTMENT_ID
left join {{ ref('ProviderDim') }} as provider on provider.ProviderEpicId = a.PROV_ID
left join {{ ref('EncounterFact') }} as encounter on encounter.EncounterEpicCsn = a.PAT_ENC_CSN_ID
