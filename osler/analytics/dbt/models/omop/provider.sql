-- PROVIDER: practitioners, with their NPI.
with rows as (
    select
        {{ omop_id('provider', 'practitioner_id') }} as provider_id,
        left(concat_ws(' ', given_name, family_name), 255) as provider_name,
        npi,
        case gender when 'male' then 8507 when 'female' then 8532 else 0 end as gender_concept_id,
        left(practitioner_id, 50) as provider_source_value,
        gender as gender_source_value
    from {{ ref('stg_fhir__practitioner') }}
)
{{ omop_select('provider', 'rows', ['provider_id', 'provider_name', 'npi', 'gender_concept_id',
   'provider_source_value', 'gender_source_value']) }}
