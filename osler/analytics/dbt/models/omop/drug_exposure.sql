-- DRUG_EXPOSURE: events whose standard concept is a Drug (prescriptions, vaccines). Without a days supply the
-- exposure ends the day it starts (OHDSI's convention when the end is unknown).
with rows as (
    select
        {{ omop_id('drug', "resource_type || '/' || res_id") }} as drug_exposure_id,
        person_id, concept_id as drug_concept_id,
        start_date as drug_exposure_start_date, start_datetime as drug_exposure_start_datetime,
        coalesce(end_date, start_date) as drug_exposure_end_date,
        coalesce(end_datetime, start_datetime) as drug_exposure_end_datetime,
        {{ omop_ehr_type() }} as drug_type_concept_id,
        refills, quantity, provider_id, visit_occurrence_id,
        source_value as drug_source_value, source_concept_id as drug_source_concept_id
    from {{ ref('int_omop__events') }}
    where cdm_table = 'drug_exposure'
)
{{ omop_select('drug_exposure', 'rows', ['drug_exposure_id', 'person_id', 'drug_concept_id',
   'drug_exposure_start_date', 'drug_exposure_start_datetime', 'drug_exposure_end_date',
   'drug_exposure_end_datetime', 'drug_type_concept_id', 'refills', 'quantity', 'provider_id',
   'visit_occurrence_id', 'drug_source_value', 'drug_source_concept_id']) }}
