-- Claim (what was billed for a visit), flattened: header totals and the encounter of its first item.
{{ config(tags=['fhir_Claim'], unique_key='claim_id', pre_hook="{{ forget_changed('Claim', 'claim_id') }}") }}
{% call fhir_source('Claim') %}
select
    res_id as claim_id,
    extract_seq,
    {{ fhir_ref_id('$.patient.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.item[0].encounter[0].reference', 'Encounter') }} as encounter_id,
    {{ fhir_ref_id('$.provider.reference', 'Organization') }} as provider_organization_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.use') }} as claim_use,
    {{ fhir_string('$.type.coding[0].code') }} as claim_type,
    {{ fhir_instant('$.created') }} as created_at,
    {{ fhir_instant('$.billablePeriod.start') }} as billable_start,
    {{ fhir_instant('$.billablePeriod.end') }} as billable_end,
    {{ fhir_decimal('$.total.value') }} as total_amount,
    {{ fhir_string('$.total.currency') }} as currency,
    {{ fhir_array_length('$.item') }} as item_count
from source
{% endcall %}
