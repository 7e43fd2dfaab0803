-- Practitioner (providers), flattened; the NPI when there is one.
{{ config(tags=['fhir_Practitioner'], unique_key='practitioner_id', pre_hook="{{ forget_changed('Practitioner', 'practitioner_id') }}") }}
{% call fhir_source('Practitioner') %}
select
    res_id as practitioner_id,
    extract_seq,
    {{ fhir_first('$.identifier', '$.value', [('$.system', '=', 'http://hl7.org/fhir/sid/us-npi')]) }} as npi,
    {{ fhir_string('$.name[0].family') }} as family_name,
    {{ fhir_string('$.name[0].given[0]') }} as given_name,
    {{ fhir_string('$.name[0].prefix[0]') }} as prefix,
    {{ fhir_string('$.gender') }} as gender,
    coalesce({{ fhir_boolean('$.active') }}, true) as active
from source
{% endcall %}
