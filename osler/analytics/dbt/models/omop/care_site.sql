-- CARE_SITE: the organizations that provide care (Encounter.serviceProvider).
with rows as (
    select
        {{ omop_id('care_site', 'organization_id') }} as care_site_id,
        left(name, 255) as care_site_name,
        left(organization_id, 50) as care_site_source_value
    from {{ ref('stg_fhir__organization') }}
)
{{ omop_select('care_site', 'rows', ['care_site_id', 'care_site_name', 'care_site_source_value']) }}
