-- Every coded clinical event of the extract, mapped to its standard concept and routed to the CDM table of
-- that concept's domain (a LOINC code whose standard concept is an Observation goes to OBSERVATION).
-- An unmapped code keeps concept 0 and goes where its FHIR resource type points.
{{ config(schema='intermediate') }}
with visits as (
    select encounter_id from {{ ref('stg_fhir__encounter') }} where reject_reason is null
),
events as (
    select 'Condition' as resource_type, condition_id as res_id, patient_id, encounter_id, null as prescriber_id,
           {{ omop_vocabulary_id('code_system') }} as vocabulary_id, code, onset_at as start_at,
           abated_at as end_at, cast(null as double precision) as value_number, null as value_unit, null as value_text,
           cast(null as double precision) as quantity, cast(null as integer) as refills
    from {{ ref('stg_fhir__condition') }} where reject_reason is null and onset_at is not null
    union all
    select 'Observation', observation_id, patient_id, encounter_id, null, {{ omop_vocabulary_id('code_system') }},
           code, effective_at, null, value_number, value_unit, value_text, null, null
    from {{ ref('stg_fhir__observation') }} where reject_reason is null and effective_at is not null
    union all
    select 'Procedure', procedure_id, patient_id, encounter_id, null, {{ omop_vocabulary_id('code_system') }},
           code, performed_at, null, null, null, null, null, null
    from {{ ref('stg_fhir__procedure') }} where reject_reason is null and performed_at is not null
    union all
    select 'MedicationRequest', medication_request_id, patient_id, encounter_id, prescriber_id, 'RxNorm',
           medication_code, authored_at, null, null, null, null, quantity, refills
    from {{ ref('stg_fhir__medication_request') }} where reject_reason is null and authored_at is not null
    union all
    select 'Immunization', immunization_id, patient_id, encounter_id, null, 'CVX', vaccine_code, occurred_at,
           null, null, null, null, null, null
    from {{ ref('stg_fhir__immunization') }} where reject_reason is null and occurred_at is not null
)
select
    events.resource_type,
    events.res_id,
    {{ omop_id('person', 'events.patient_id') }} as person_id,
    case when events.encounter_id in (select encounter_id from visits)
         then {{ omop_id('visit', 'events.encounter_id') }} end as visit_occurrence_id,
    case when events.prescriber_id in (select practitioner_id from {{ ref('stg_fhir__practitioner') }})
         then {{ omop_id('provider', 'events.prescriber_id') }} end as provider_id,
    coalesce(map.concept_id, 0) as concept_id,
    coalesce(map.source_concept_id, 0) as source_concept_id,
    left(events.code, 50) as source_value,
    case coalesce(map.domain_id, case events.resource_type
            when 'Condition' then 'Condition'
            when 'Procedure' then 'Procedure'
            when 'Observation' then case when events.value_number is not null then 'Measurement' else 'Observation' end
            else 'Drug' end)
        when 'Condition' then 'condition_occurrence'
        when 'Procedure' then 'procedure_occurrence'
        when 'Measurement' then 'measurement'
        when 'Drug' then 'drug_exposure'
        when 'Device' then 'device_exposure'
        else 'observation'
    end as cdm_table,
    cast(events.start_at as date) as start_date,
    cast(events.start_at as timestamp) as start_datetime,
    cast(events.end_at as date) as end_date,
    cast(events.end_at as timestamp) as end_datetime,
    events.value_number,
    left(events.value_text, 60) as value_text,
    coalesce(unit.concept_id, case when events.value_unit is not null then 0 end) as unit_concept_id,
    left(events.value_unit, 50) as unit_source_value,
    events.quantity,
    events.refills
from events
left join {{ ref('int_omop__concept_map') }} as map
    on map.vocabulary_id = events.vocabulary_id and map.concept_code = events.code
left join {{ source('vocab', 'concept') }} as unit
    on unit.vocabulary_id = 'UCUM' and unit.concept_code = events.value_unit and unit.standard_concept = 'S'
