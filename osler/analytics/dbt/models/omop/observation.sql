-- OBSERVATION: events whose standard concept is in the Observation domain (or another non-event domain).
with rows as (
    select
        {{ omop_id('observation', "resource_type || '/' || res_id") }} as observation_id,
        person_id, concept_id as observation_concept_id,
        start_date as observation_date, start_datetime as observation_datetime,
        {{ omop_ehr_type() }} as observation_type_concept_id,
        value_number as value_as_number, value_text as value_as_string, unit_concept_id,
        provider_id, visit_occurrence_id,
        source_value as observation_source_value, source_concept_id as observation_source_concept_id,
        unit_source_value
    from {{ ref('int_omop__events') }}
    where cdm_table = 'observation'
)
{{ omop_select('observation', 'rows', ['observation_id', 'person_id', 'observation_concept_id', 'observation_date',
   'observation_datetime', 'observation_type_concept_id', 'value_as_number', 'value_as_string', 'unit_concept_id',
   'provider_id', 'visit_occurrence_id', 'observation_source_value', 'observation_source_concept_id',
   'unit_source_value']) }}
