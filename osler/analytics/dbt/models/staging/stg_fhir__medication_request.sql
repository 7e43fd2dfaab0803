-- MedicationRequest (prescriptions), flattened; the medication as a code (RxNorm) or a reference.
with source as (select * from {{ fhir_current('MedicationRequest') }})
select
    res_id as medication_request_id,
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
    try_cast({{ fhir_string('$.dispenseRequest.numberOfRepeatsAllowed') }} as integer) as refills,
    {{ fhir_instant('$.authoredOn') }} as authored_at,
    {{ reject_reason([
        (fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract'),
        ("json_extract(resource, '$.medicationCodeableConcept') is null and "
         "json_extract(resource, '$.medicationReference') is null", 'no medication')]) }} as reject_reason
from source
