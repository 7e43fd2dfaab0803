-- Location: departments and, part of them, exam rooms (physicalType ro).
{{ config(tags=['fhir_Location'], unique_key='location_id', pre_hook="{{ forget_changed('Location', 'location_id') }}") }}
{% call fhir_source('Location') %}
select
    res_id as location_id,
    extract_seq,
    {{ fhir_string('$.name') }} as name,
    {{ fhir_string('$.status') }} as status,
    coalesce({{ fhir_string('$.physicalType.coding[0].code') }} = 'ro', false) as is_room,
    {{ fhir_ref_id('$.partOf.reference', 'Location') }} as parent_location_id,
    {{ fhir_ref_id('$.managingOrganization.reference', 'Organization') }} as organization_id,
    {{ fhir_string('$.identifier[0].value') }} as external_code,
    {{ fhir_string('$.address.city') }} as city,
    {{ fhir_string('$.address.state') }} as state
from source
{% endcall %}
