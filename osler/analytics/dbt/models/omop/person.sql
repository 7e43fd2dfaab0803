-- PERSON: one row per patient. Gender from Patient.gender; race and ethnicity are not extracted yet (0).
with rows as (
    select
        {{ omop_id('person', 'patient_id') }} as person_id,
        case gender when 'male' then 8507 when 'female' then 8532 else 0 end as gender_concept_id,
        extract(year from birth_date) as year_of_birth,
        extract(month from birth_date) as month_of_birth,
        extract(day from birth_date) as day_of_birth,
        cast(birth_date as timestamp) as birth_datetime,
        0 as race_concept_id,
        0 as ethnicity_concept_id,
        case when coalesce(address_line, city, postal_code) is not null
             then {{ omop_id('location', 'patient_id') }} end as location_id,
        patient_id as person_source_value,
        gender as gender_source_value,
        0 as gender_source_concept_id
    from {{ ref('stg_fhir__patient') }}
    where birth_date is not null
)
{{ omop_select('person', 'rows', ['person_id', 'gender_concept_id', 'year_of_birth', 'month_of_birth', 'day_of_birth', 'birth_datetime',
   'race_concept_id', 'ethnicity_concept_id', 'location_id', 'person_source_value', 'gender_source_value',
   'gender_source_concept_id']) }}
