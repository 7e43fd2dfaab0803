-- Organization (payers, practices, the clinic), flattened.
{{ config(tags=['fhir_Organization'], unique_key='organization_id', pre_hook="{{ forget_changed('Organization', 'organization_id') }}") }}
{% call fhir_source('Organization') %}
select
    res_id as organization_id,
    extract_seq,
    {{ fhir_string('$.name') }} as name,
    {{ fhir_string('$.type[0].coding[0].code') }} as organization_type,
    {{ fhir_string('$.address[0].city') }} as city,
    {{ fhir_string('$.address[0].state') }} as state,
    {{ fhir_ref_id('$.partOf.reference', 'Organization') }} as parent_id
from source
{% endcall %}
