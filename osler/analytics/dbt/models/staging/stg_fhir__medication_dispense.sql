-- MedicationDispense (Willow): a fill of a prescription, prepared and handed over to the patient.
{{ config(tags=['fhir_MedicationDispense'], unique_key='medication_dispense_id', pre_hook="{{ forget_changed('MedicationDispense', 'medication_dispense_id') }}") }}
{% call fhir_source('MedicationDispense') %}
select
    res_id as medication_dispense_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.authorizingPrescription[0].reference', 'MedicationRequest') }} as medication_request_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_instant('$.whenPrepared') }} as prepared_at,
    {{ fhir_instant('$.whenHandedOver') }} as handed_over_at
from source
{% endcall %}
