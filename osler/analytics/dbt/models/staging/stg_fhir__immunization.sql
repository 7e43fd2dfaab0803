-- Immunization, flattened.
{{ config(tags=['fhir_Immunization', 'fhir_Patient'], unique_key='immunization_id', pre_hook="{{ forget_changed('Immunization', 'immunization_id') }}") }}
{% call fhir_source('Immunization', ('immunization_id', 'patient_id')) %}
select
    res_id as immunization_id,
    extract_seq,
    {{ fhir_ref_id('$.patient.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.encounter.reference', 'Encounter') }} as encounter_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.vaccineCode.coding[0].code') }} as vaccine_code,
    coalesce({{ fhir_string('$.vaccineCode.text') }}, {{ fhir_string('$.vaccineCode.coding[0].display') }}) as vaccine_text,
    {{ fhir_instant('$.occurrenceDateTime') }} as occurred_at,
    {{ reject_reason([
        (fhir_ref_id('$.patient.reference', 'Patient') ~ ' is null', 'no patient'),
        (unknown_patient(fhir_ref_id('$.patient.reference', 'Patient')), 'Patient not in the extract'),
        (fhir_string('$.vaccineCode.coding[0].code') ~ ' is null', 'no vaccine code')]) }} as reject_reason
from source
{% endcall %}
