-- PERSON: one row per patient. Gender from Patient.gender; race and ethnicity from the US Core extensions'
-- OMB category (CDC Race & Ethnicity codes) to OMOP's Race and Ethnicity concepts, 0 when absent or other.
with rows as (
    select
        {{ omop_id('person', 'patient_id') }} as person_id,
        case gender when 'male' then 8507 when 'female' then 8532 else 0 end as gender_concept_id,
        extract(year from birth_date) as year_of_birth,
        extract(month from birth_date) as month_of_birth,
        extract(day from birth_date) as day_of_birth,
        cast(birth_date as timestamp) as birth_datetime,
        case race_code when '1002-5' then 8657 when '2028-9' then 8515 when '2054-5' then 8516
                       when '2076-8' then 8557 when '2106-3' then 8527 else 0 end as race_concept_id,
        case ethnicity_code when '2135-2' then 38003563 when '2186-5' then 38003564 else 0 end as ethnicity_concept_id,
        left(race_code, 50) as race_source_value,
        left(ethnicity_code, 50) as ethnicity_source_value,
        case when coalesce(address_line, city, postal_code) is not null
             then {{ omop_id('location', 'patient_id') }} end as location_id,
        patient_id as person_source_value,
        gender as gender_source_value,
        0 as gender_source_concept_id
    from {{ ref('stg_fhir__patient') }}
    where birth_date is not null
)
{{ omop_select('person', 'rows', ['person_id', 'gender_concept_id', 'year_of_birth', 'month_of_birth', 'day_of_birth', 'birth_datetime',
   'race_concept_id', 'ethnicity_concept_id', 'race_source_value', 'ethnicity_source_value', 'location_id', 'person_source_value', 'gender_source_value',
   'gender_source_concept_id']) }}
