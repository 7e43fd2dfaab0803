-- EncounterFact (Caboodle): one row per encounter, keyed to its patient (version of the day), department,
-- provider and dates, with its length in minutes.
select
    {{ surrogate_key("'Encounter|' || e.PAT_ENC_CSN_ID") }} as EncounterKey,
    e.PAT_ENC_CSN_ID as EncounterEpicCsn,
    {{ patient_version_columns() }},
    coalesce(department.DepartmentKey, -1) as DepartmentKey,
    coalesce(provider.ProviderKey, -1) as ProviderKey,
    {{ date_key('e.CONTACT_DATE') }} as DateKey,
    {{ date_key(utc_date('e.ENC_CLOSE_TIME')) }} as EndDateKey,
    e.EFFECTIVE_DATE_DTTM as StartInstant,
    e.ENC_CLOSE_TIME as EndInstant,
    e.ENC_CLASS as EncounterClass,
    e.ENC_TYPE as EncounterType,
    e.ENC_STATUS as EncounterStatus,
    e.APPT_STATUS as AppointmentStatus,
    {{ minutes_between('e.EFFECTIVE_DATE_DTTM', 'e.ENC_CLOSE_TIME') }} as LengthInMinutes
from {{ ref('PAT_ENC') }} as e
{{ patient_version_joins('e.PAT_ID', 'e.CONTACT_DATE') }}
left join {{ ref('DepartmentDim') }} as department on department.DepartmentEpicId = e.DEPARTMENT_ID
left join {{ ref('ProviderDim') }} as provider on provider.ProviderEpicId = e.VISIT_PROV_ID
