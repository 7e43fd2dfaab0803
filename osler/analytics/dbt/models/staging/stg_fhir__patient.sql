-- Patient, flattened: demographics, US Core race and ethnicity, and the MRN (identifier typed MR, or Osler's own
-- MRN system).
{{ config(tags=['fhir_Patient'], unique_key='patient_id', pre_hook="{{ forget_changed('Patient', 'patient_id') }}") }}
{% call fhir_source('Patient') %}
select
    res_id as patient_id,
    extract_seq,
    {{ fhir_first('$.identifier', '$.value', [('$.type.coding[0].code', '=', 'MR'),
                                               ('$.system', '=', var('mrn_system'))]) }} as mrn,
    {{ fhir_string('$.name[0].family') }} as family_name,
    {{ fhir_string('$.name[0].given[0]') }} as given_name,
    {{ fhir_date('$.birthDate') }} as birth_date,
    {{ fhir_string('$.gender') }} as gender,
    {{ fhir_instant('$.deceasedDateTime') }} as deceased_at,
    {{ fhir_string('$.address[0].line[0]') }} as address_line,
    {{ fhir_string('$.address[0].city') }} as city,
    {{ fhir_string('$.address[0].state') }} as state,
    {{ fhir_string('$.address[0].postalCode') }} as postal_code,
    {{ fhir_string('$.telecom[0].value') }} as phone,
    {{ fhir_string('$.maritalStatus.coding[0].code') }} as marital_status_code,
    {#- US Core race and ethnicity: the OMB category, the first of the extension's own extensions. #}
    {%- for name in ['race', 'ethnicity'] %}
    {%- set url = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-' ~ name %}
    {{ fhir_first('$.extension', '$.extension[0].valueCoding.code', [('$.url', '=', url)]) }} as {{ name }}_code,
    {{ fhir_first('$.extension', '$.extension[0].valueCoding.display', [('$.url', '=', url)]) }} as {{ name }}_text,
    {%- endfor %}
    last_updated
from source
{% endcall %}
