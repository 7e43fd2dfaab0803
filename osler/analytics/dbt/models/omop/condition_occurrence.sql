-- CONDITION_OCCURRENCE: events whose standard concept is in the Condition domain.
with rows as (
    select
        {{ omop_id('condition', "resource_type || '/' || res_id") }} as condition_occurrence_id,
        person_id, concept_id as condition_concept_id,
        start_date as condition_start_date, start_datetime as condition_start_datetime,
        end_date as condition_end_date, end_datetime as condition_end_datetime,
        {{ omop_ehr_type() }} as condition_type_concept_id,
        provider_id, visit_occurrence_id,
        source_value as condition_source_value, source_concept_id as condition_source_concept_id
    from {{ ref('int_omop__events') }}
    where cdm_table = 'condition_occurrence'
)
{{ omop_select('condition_occurrence', 'rows', ['condition_occurrence_id', 'person_id', 'condition_concept_id',
   'condition_start_date', 'condition_start_datetime', 'condition_end_date', 'condition_end_datetime',
   'condition_type_concept_id', 'provider_id', 'visit_occurrence_id', 'condition_source_value',
   'condition_source_concept_id']) }}
