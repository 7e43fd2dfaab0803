-- AllergyIntolerance, flattened.
{{ config(tags=['fhir_AllergyIntolerance', 'fhir_Patient'], unique_key='allergy_id', pre_hook="{{ forget_changed('AllergyIntolerance', 'allergy_id') }}") }}
{% call fhir_source('AllergyIntolerance', ('allergy_id', 'patient_id')) %}
select
    res_id as allergy_id,
    extract_seq,
    {{ fhir_ref_id('$.patient.reference', 'Patient') }} as patient_id,
    {{ fhir_string('$.clinicalStatus.coding[0].code') }} as clinical_status,
    {{ fhir_string('$.type') }} as allergy_type,
    {{ fhir_string('$.category[0]') }} as category,
    {{ fhir_string('$.criticality') }} as criticality,
    {{ fhir_string('$.code.coding[0].code') }} as code,
    coalesce({{ fhir_string('$.code.text') }}, {{ fhir_string('$.code.coding[0].display') }}) as code_text,
    {{ fhir_instant('$.recordedDate') }} as recorded_at,
    {{ reject_reason([(fhir_ref_id('$.patient.reference', 'Patient') ~ ' is null', 'no patient'),
        (unknown_patient(fhir_ref_id('$.patient.reference', 'Patient')), 'Patient not in the extract')]) }} as reject_reason
from source
{% endcall %}
