-- PROCEDURE_OCCURRENCE: events whose standard concept is in the Procedure domain.
with rows as (
    select
        {{ omop_id('procedure', "resource_type || '/' || res_id") }} as procedure_occurrence_id,
        person_id, concept_id as procedure_concept_id,
        start_date as procedure_date, start_datetime as procedure_datetime,
        {{ omop_ehr_type() }} as procedure_type_concept_id,
        provider_id, visit_occurrence_id,
        source_value as procedure_source_value, source_concept_id as procedure_source_concept_id
    from {{ ref('int_omop__events') }}
    where cdm_table = 'procedure_occurrence'
)
{{ omop_select('procedure_occurrence', 'rows', ['procedure_occurrence_id', 'person_id', 'procedure_concept_id',
   'procedure_date', 'procedure_datetime', 'procedure_type_concept_id', 'provider_id', 'visit_occurrence_id',
   'procedure_source_value', 'procedure_source_concept_id']) }}
