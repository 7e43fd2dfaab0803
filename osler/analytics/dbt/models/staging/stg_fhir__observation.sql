-- Observation (results and vitals), flattened; a value is numeric, coded or text.
{{ config(tags=['fhir_Observation', 'fhir_Patient'], unique_key='observation_id', pre_hook="{{ forget_changed('Observation', 'observation_id') }}") }}
{% call fhir_source('Observation', ('observation_id', 'patient_id')) %}
select
    res_id as observation_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.encounter.reference', 'Encounter') }} as encounter_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.category[0].coding[0].code') }} as category,
    {{ fhir_string('$.code.coding[0].system') }} as code_system,
    {{ fhir_string('$.code.coding[0].code') }} as code,
    coalesce({{ fhir_string('$.code.text') }}, {{ fhir_string('$.code.coding[0].display') }}) as code_text,
    {{ fhir_decimal('$.valueQuantity.value') }} as value_number,
    coalesce({{ fhir_string('$.valueQuantity.unit') }}, {{ fhir_string('$.valueQuantity.code') }}) as value_unit,
    coalesce({{ fhir_string('$.valueCodeableConcept.coding[0].display') }}, {{ fhir_string('$.valueCodeableConcept.text') }},
             {{ fhir_string('$.valueString') }}) as value_text,
    {{ fhir_string('$.interpretation[0].coding[0].code') }} as interpretation,
    {{ fhir_string('$.referenceRange[0].text') }} as reference_range_text,
    {{ fhir_decimal('$.referenceRange[0].low.value') }} as reference_low,
    {{ fhir_decimal('$.referenceRange[0].high.value') }} as reference_high,
    coalesce({{ fhir_instant('$.effectiveDateTime') }}, {{ fhir_instant('$.effectivePeriod.start') }}) as effective_at,
    {{ fhir_instant('$.issued') }} as issued_at,
    {{ reject_reason([
        (fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract'),
        (fhir_string('$.code.coding[0].code') ~ ' is null', 'no code')]) }} as reject_reason
from source
{% endcall %}
