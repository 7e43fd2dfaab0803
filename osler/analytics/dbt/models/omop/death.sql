-- DEATH: patients with a deceasedDateTime.
with rows as (
    select
        {{ omop_id('person', 'patient_id') }} as person_id,
        cast(deceased_at as date) as death_date,
        cast(deceased_at as timestamp) as death_datetime,
        {{ omop_ehr_type() }} as death_type_concept_id
    from {{ ref('stg_fhir__patient') }}
    where deceased_at is not null and birth_date is not null
)
{{ omop_select('death', 'rows', ['person_id', 'death_date', 'death_datetime', 'death_type_concept_id']) }}
