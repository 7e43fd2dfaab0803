-- DiagnosisEventFact (Caboodle): one row per Condition (problem-list entry or encounter diagnosis): the
-- patient, the diagnosis, when it started and ended, and whether it is active.
select
    {{ surrogate_key("'Condition|' || c.condition_id") }} as DiagnosisEventKey,
    c.condition_id as ConditionEpicId,
    {{ patient_version_columns() }},
    diagnosis.DiagnosisKey,
    encounter.EncounterKey,
    {{ date_key(utc_date('coalesce(c.onset_at, c.recorded_at)')) }} as StartDateKey,
    {{ date_key(utc_date('c.abated_at')) }} as EndDateKey,
    {{ utc_date('coalesce(c.onset_at, c.recorded_at)') }} as StartDate,
    {{ utc_date('c.abated_at') }} as EndDate,
    c.clinical_status as ClinicalStatus,
    c.category as Category,
    coalesce(c.clinical_status in ('active', 'recurrence', 'relapse'), c.abated_at is null) as IsActive
from {{ ref('stg_fhir__condition') }} as c
{{ patient_version_joins('c.patient_id', utc_date('coalesce(c.onset_at, c.recorded_at)')) }}
join {{ ref('DiagnosisDim') }} as diagnosis
    on diagnosis.CodeSystem is not distinct from c.code_system and diagnosis.Code = c.code
left join {{ ref('EncounterFact') }} as encounter on encounter.EncounterEpicCsn = c.encounter_id
where c.reject_reason is null
