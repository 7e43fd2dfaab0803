-- LOCATION: a patient's home address (one per patient that has one). State only as a 2-letter code.
with rows as (
    select
        {{ omop_id('location', 'patient_id') }} as location_id,
        left(address_line, 50) as address_1,
        left(city, 50) as city,
        case when length(state) = 2 then upper(state) end as state,
        left(replace(postal_code, '-', ''), 9) as zip,
        left(state, 50) as location_source_value
    from {{ ref('stg_fhir__patient') }}
    where coalesce(address_line, city, postal_code) is not null and birth_date is not null
)
{{ omop_select('location', 'rows', ['location_id', 'address_1', 'city', 'state', 'zip', 'location_source_value']) }}
