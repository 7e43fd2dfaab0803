-- DEVICE_EXPOSURE: events whose standard concept is in the Device domain.
with rows as (
    select
        {{ omop_id('device', "resource_type || '/' || res_id") }} as device_exposure_id,
        person_id, concept_id as device_concept_id,
        start_date as device_exposure_start_date, start_datetime as device_exposure_start_datetime,
        end_date as device_exposure_end_date, end_datetime as device_exposure_end_datetime,
        {{ omop_ehr_type() }} as device_type_concept_id,
        provider_id, visit_occurrence_id,
        source_value as device_source_value, source_concept_id as device_source_concept_id
    from {{ ref('int_omop__events') }}
    where cdm_table = 'device_exposure'
)
{{ omop_select('device_exposure', 'rows', ['device_exposure_id', 'person_id', 'device_concept_id',
   'device_exposure_start_date', 'device_exposure_start_datetime', 'device_exposure_end_date',
   'device_exposure_end_datetime', 'device_type_concept_id', 'provider_id', 'visit_occurrence_id',
   'device_source_value', 'device_source_concept_id']) }}
