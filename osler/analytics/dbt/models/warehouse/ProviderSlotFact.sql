-- ProviderSlotFact (Caboodle: the provider template's slots): one row per Slot of a provider's Schedule —
-- its length, and whether it was open to booking (free or busy) and booked (busy). Blocked time
-- (busy-unavailable) is neither. The department comes from the schedule's Cadence department tag.
select
    {{ surrogate_key("'Slot|' || s.slot_id") }} as SlotKey,
    s.slot_id as SlotEpicId,
    coalesce(provider.ProviderKey, -1) as ProviderKey,
    coalesce(department.DepartmentKey, -1) as DepartmentKey,
    {{ date_key(utc_date('s.start_at')) }} as DateKey,
    s.start_at as StartInstant,
    {{ minutes_between('s.start_at', 's.end_at') }} as LengthInMinutes,
    s.status as SlotStatus,
    s.status in ('free', 'busy') as IsAvailable,
    s.status = 'busy' as IsBooked
from {{ ref('stg_fhir__slot') }} as s
join {{ ref('stg_fhir__schedule') }} as schedule using (schedule_id)
left join {{ ref('ProviderDim') }} as provider on provider.ProviderEpicId = schedule.practitioner_id
left join {{ ref('DepartmentDim') }} as department on department.DepartmentAbbreviation = schedule.department_code
where schedule.schedule_kind = 'provider'
