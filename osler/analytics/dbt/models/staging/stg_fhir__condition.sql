-- Condition (problems and encounter diagnoses), flattened.
{{ config(tags=['fhir_Condition', 'fhir_Patient'], unique_key='condition_id', pre_hook="{{ forget_changed('Condition', 'condition_id') }}") }}
{% call fhir_source('Condition', ('condition_id', 'patient_id')) %}
select
    res_id as condition_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.encounter.reference', 'Encounter') }} as encounter_id,
    {{ fhir_string('$.code.coding[0].system') }} as code_system,
    {{ fhir_string('$.code.coding[0].code') }} as code,
    coalesce({{ fhir_string('$.code.text') }}, {{ fhir_string('$.code.coding[0].display') }}) as code_text,
    {{ fhir_string('$.clinicalStatus.coding[0].code') }} as clinical_status,
    {{ fhir_string('$.category[0].coding[0].code') }} as category,
    {{ fhir_instant('$.onsetDateTime') }} as onset_at,
    {{ fhir_instant('$.abatementDateTime') }} as abated_at,
    {{ fhir_instant('$.recordedDate') }} as recorded_at,
    {{ reject_reason([
        (fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract'),
        (fhir_string('$.code.coding[0].code') ~ ' is null', 'no code')]) }} as reject_reason
from source
{% endcall %}
