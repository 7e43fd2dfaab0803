-- ORDER_MED (Clarity): one row per medication order (MedicationRequest).
select
    medication_request_id as ORDER_MED_ID,
    patient_id as PAT_ID,
    encounter_id as PAT_ENC_CSN_ID,
    medication_code as MEDICATION_ID,
    medication_text as DESCRIPTION,
    sig as SIG,
    quantity as QUANTITY,
    refills as REFILLS,
    status as ORDER_STATUS,
    intent as ORDER_CLASS,
    authored_at as ORDERING_DATE,
    prescriber_id as ORD_PROV_ID
from {{ ref('stg_fhir__medication_request') }}
where reject_reason is null
