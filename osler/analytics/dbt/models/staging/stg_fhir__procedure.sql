-- Procedure (performed procedures), flattened.
{{ config(tags=['fhir_Procedure', 'fhir_Patient'], unique_key='procedure_id', pre_hook="{{ forget_changed('Procedure', 'procedure_id') }}") }}
{% call fhir_source('Procedure', ('procedure_id', 'patient_id')) %}
select
    res_id as procedure_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.encounter.reference', 'Encounter') }} as encounter_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.code.coding[0].system') }} as code_system,
    {{ fhir_string('$.code.coding[0].code') }} as code,
    coalesce({{ fhir_string('$.code.text') }}, {{ fhir_string('$.code.coding[0].display') }}) as code_text,
    coalesce({{ fhir_instant('$.performedDateTime') }}, {{ fhir_instant('$.performedPeriod.start') }}) as performed_at,
    {{ reject_reason([
        (fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract'),
        (fhir_string('$.code.coding[0].code') ~ ' is null', 'no code')]) }} as reject_reason
from source
{% endcall %}
