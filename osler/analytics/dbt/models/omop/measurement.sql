-- MEASUREMENT: events whose standard concept is in the Measurement domain, with the UCUM unit concept.
with rows as (
    select
        {{ omop_id('measurement', "resource_type || '/' || res_id") }} as measurement_id,
        person_id, concept_id as measurement_concept_id,
        start_date as measurement_date, start_datetime as measurement_datetime,
        {{ omop_ehr_type() }} as measurement_type_concept_id,
        value_number as value_as_number, unit_concept_id, provider_id, visit_occurrence_id,
        source_value as measurement_source_value, source_concept_id as measurement_source_concept_id,
        unit_source_value, left(value_text, 50) as value_source_value
    from {{ ref('int_omop__events') }}
    where cdm_table = 'measurement'
)
{{ omop_select('measurement', 'rows', ['measurement_id', 'person_id', 'measurement_concept_id', 'measurement_date',
   'measurement_datetime', 'measurement_type_concept_id', 'value_as_number', 'unit_concept_id', 'provider_id',
   'visit_occurrence_id', 'measurement_source_value', 'measurement_source_concept_id', 'unit_source_value',
   'value_source_value']) }}
