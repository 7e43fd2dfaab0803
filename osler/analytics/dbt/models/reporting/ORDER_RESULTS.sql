-- ORDER_RESULTS (Clarity): one row per result component of an order, numbered by LINE.
select
    lines.order_id as ORDER_PROC_ID,
    lines.line as LINE,
    o.patient_id as PAT_ID,
    o.encounter_id as PAT_ENC_CSN_ID,
    o.code as COMPONENT_ID,
    o.code_text as COMPONENT_NAME,
    coalesce(cast(o.value_number as varchar), o.value_text) as ORD_VALUE,
    o.value_number as ORD_NUM_VALUE,
    o.value_unit as REFERENCE_UNIT,
    o.reference_low as REFERENCE_LOW,
    o.reference_high as REFERENCE_HIGH,
    o.interpretation as RESULT_FLAG,
    o.status as RESULT_STATUS,
    coalesce(o.issued_at, o.effective_at) as RESULT_TIME,
    o.observation_id as OBSERVATION_ID
from {{ ref('int_order_result_lines') }} as lines
join {{ ref('stg_fhir__observation') }} as o using (observation_id)
