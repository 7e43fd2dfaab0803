-- PractitionerRole (a provider's specialty at a department), flattened.
{{ config(tags=['fhir_PractitionerRole'], unique_key='practitioner_role_id', pre_hook="{{ forget_changed('PractitionerRole', 'practitioner_role_id') }}") }}
{% call fhir_source('PractitionerRole') %}
select
    res_id as practitioner_role_id,
    extract_seq,
    {{ fhir_ref_id('$.practitioner.reference', 'Practitioner') }} as practitioner_id,
    {{ fhir_ref_id('$.organization.reference', 'Organization') }} as organization_id,
    {{ fhir_ref_id('$.location[0].reference', 'Location') }} as location_id,
    {{ fhir_string('$.specialty[0].coding[0].code') }} as specialty_code,
    coalesce({{ fhir_string('$.specialty[0].text') }}, {{ fhir_string('$.specialty[0].coding[0].display') }})
        as specialty_text,
    {{ reject_reason([(fhir_ref_id('$.practitioner.reference', 'Practitioner') ~ ' is null', 'no practitioner')]) }}
        as reject_reason
from source
{% endcall %}
