-- Coverage (insurance on file), flattened.
{{ config(tags=['fhir_Coverage', 'fhir_Patient'], unique_key='coverage_id', pre_hook="{{ forget_changed('Coverage', 'coverage_id') }}") }}
{% call fhir_source('Coverage', ('coverage_id', 'patient_id')) %}
select
    res_id as coverage_id,
    extract_seq,
    {{ fhir_ref_id('$.beneficiary.reference', 'Patient') }} as patient_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.type.coding[0].code') }} as coverage_type,
    {{ fhir_ref_id('$.payor[0].reference', 'Organization') }} as payor_id,
    {{ fhir_string('$.payor[0].display') }} as payor_name,
    {{ fhir_string('$.subscriberId') }} as subscriber_id,
    {{ fhir_string('$.relationship.coding[0].code') }} as relationship,
    {{ fhir_date('$.period.start') }} as period_start,
    {{ fhir_date('$.period.end') }} as period_end,
    {{ reject_reason([(fhir_ref_id('$.beneficiary.reference', 'Patient') ~ ' is null', 'no beneficiary Patient'),
        (unknown_patient(fhir_ref_id('$.beneficiary.reference', 'Patient')), 'Patient not in the extract')]) }}
        as reject_reason
from source
{% endcall %}
