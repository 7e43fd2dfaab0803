-- FlowsheetValueFact (Caboodle): one row per vital-sign value — a vital-sign Observation's value, or each
-- component of a panel (a blood pressure's systolic 8480-6 and diastolic 8462-4 share its ObservationEpicId).
with observations as (
    select * from {{ ref('stg_fhir__observation') }}
    where reject_reason is null and category = 'vital-signs'
),
values_taken as (
    select observation_id, 0 as component_number, code, code_text, value_number, value_unit
    from observations
    where value_number is not null
    union all
    select c.observation_id, c.component_number, c.code, null, c.value_number, c.value_unit
    from {{ ref('stg_fhir__observation_component') }} as c
    join observations using (observation_id)
    where c.value_number is not null
)
select
    {{ surrogate_key("'Flowsheet|' || v.observation_id || '|' || cast(v.component_number as varchar)") }}
        as FlowsheetValueKey,
    v.observation_id as ObservationEpicId,
    v.component_number as ComponentNumber,
    {{ patient_version_columns() }},
    encounter.EncounterKey,
    {{ date_key(utc_date('o.effective_at')) }} as DateKey,
    o.effective_at as TakenInstant,
    v.code as Code,
    v.code_text as Name,
    v.value_number as NumericValue,
    v.value_unit as Unit
from values_taken as v
join observations as o using (observation_id)
{{ patient_version_joins('o.patient_id', utc_date('o.effective_at')) }}
left join {{ ref('EncounterFact') }} as encounter on encounter.EncounterEpicCsn = o.encounter_id
