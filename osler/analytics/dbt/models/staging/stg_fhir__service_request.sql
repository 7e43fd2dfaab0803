-- ServiceRequest (lab and procedure orders), flattened.
{{ config(tags=['fhir_ServiceRequest', 'fhir_Patient'], unique_key='service_request_id', pre_hook="{{ forget_changed('ServiceRequest', 'service_request_id') }}") }}
{% call fhir_source('ServiceRequest', ('service_request_id', 'patient_id')) %}
select
    res_id as service_request_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.encounter.reference', 'Encounter') }} as encounter_id,
    {{ fhir_ref_id('$.requester.reference', 'Practitioner') }} as requester_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.intent') }} as intent,
    {{ fhir_string('$.priority') }} as priority,
    {{ fhir_string('$.category[0].coding[0].code') }} as category,
    {{ fhir_string('$.code.coding[0].code') }} as code,
    coalesce({{ fhir_string('$.code.text') }}, {{ fhir_string('$.code.coding[0].display') }}) as code_text,
    {{ fhir_instant('$.authoredOn') }} as authored_at,
    {{ reject_reason([
        (fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract'),
        (fhir_string('$.code.coding[0].code') ~ ' is null', 'no code')]) }} as reject_reason
from source
{% endcall %}
