-- ExplanationOfBenefit (the payer's adjudication of a claim), flattened: what was claimed and paid.
{{ config(tags=['fhir_ExplanationOfBenefit'], unique_key='explanation_of_benefit_id', pre_hook="{{ forget_changed('ExplanationOfBenefit', 'explanation_of_benefit_id') }}") }}
{% call fhir_source('ExplanationOfBenefit') %}
select
    res_id as explanation_of_benefit_id,
    extract_seq,
    {{ fhir_ref_id('$.patient.reference', 'Patient') }} as patient_id,
    {{ fhir_ref_id('$.claim.reference', 'Claim') }} as claim_id,
    {{ fhir_ref_id('$.insurer.reference', 'Organization') }} as insurer_id,
    coalesce({{ fhir_string('$.insurer.display') }}, {{ fhir_string('$.insurance[0].coverage.display') }}) as insurer_name,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.outcome') }} as outcome,
    {{ fhir_instant('$.created') }} as created_at,
    {{ fhir_decimal('$.total[0].amount.value') }} as total_amount,
    {{ fhir_decimal('$.payment.amount.value') }} as paid_amount
from source
{% endcall %}
