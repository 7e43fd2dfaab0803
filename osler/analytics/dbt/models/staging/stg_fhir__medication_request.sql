-- MedicationRequest (prescriptions), flattened; the medication as a code (RxNorm) or a reference.
{{ config(tags=['fhir_MedicationRequest', 'fhir_Patient'], unique_key='medication_request_id', pre_hook="{{ forget_changed('MedicationRequest', 'medication_request_id') }}") }}
{% call fhir_source('MedicationRequest', ('medication_request_id', 'patient_id')) %}
select
    res_id as medication_request_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.encounter.reference', 'Encounter') }} as encounter_id,
    {{ fhir_ref_id('$.requester.reference', 'Practitioner') }} as prescriber_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.intent') }} as intent,
    {{ fhir_string('$.medicationCodeableConcept.coding[0].code') }} as medication_code,
    coalesce({{ fhir_string('$.medicationCodeableConcept.text') }},
             {{ fhir_string('$.medicationCodeableConcept.coding[0].display') }},
             {{ fhir_string('$.medicationReference.display') }}) as medication_text,
    {{ fhir_ref_id('$.medicationReference.reference', 'Medication') }} as medication_id,
    {{ fhir_string('$.dosageInstruction[0].text') }} as sig,
    {{ fhir_decimal('$.dispenseRequest.quantity.value') }} as quantity,
    {{ fhir_integer('$.dispenseRequest.numberOfRepeatsAllowed') }} as refills,
    {{ fhir_instant('$.authoredOn') }} as authored_at,
    {{ reject_reason([
        (fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract'),
        (fhir_string('$.medicationCodeableConcept') ~ ' is null and ' ~ fhir_string('$.medicationReference') ~ ' is null',
         'no medication')]) }} as reject_reason
from source
{% endcall %}
