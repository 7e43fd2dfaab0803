-- DiagnosticReport (a resulted order), flattened; its results stay a list of Observation ids.
{{ config(tags=['fhir_DiagnosticReport', 'fhir_Patient'], unique_key='diagnostic_report_id', pre_hook="{{ forget_changed('DiagnosticReport', 'diagnostic_report_id') }}") }}
{% call fhir_source('DiagnosticReport', ('diagnostic_report_id', 'patient_id')) %}
select
    res_id as diagnostic_report_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.encounter.reference', 'Encounter') }} as encounter_id,
    {{ fhir_ref_id('$.basedOn[0].reference', 'ServiceRequest') }} as service_request_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.category[0].coding[0].code') }} as category,
    {{ fhir_string('$.code.coding[0].code') }} as code,
    coalesce({{ fhir_string('$.code.text') }}, {{ fhir_string('$.code.coding[0].display') }}) as code_text,
    coalesce({{ fhir_instant('$.effectiveDateTime') }}, {{ fhir_instant('$.effectivePeriod.start') }}) as effective_at,
    {{ fhir_instant('$.issued') }} as issued_at,
    {{ reject_reason([
        (fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract'),
        (fhir_string('$.code.coding[0].code') ~ ' is null', 'no code')]) }} as reject_reason
from source
{% endcall %}
