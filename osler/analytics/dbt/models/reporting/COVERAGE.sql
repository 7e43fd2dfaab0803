-- COVERAGE (Clarity): the insurance on file, one row per Coverage.
select
    coverage_id as COVERAGE_ID,
    patient_id as PAT_ID,
    payor_id as PAYOR_ID,
    payor_name as PAYOR_NAME,
    subscriber_id as SUBSCR_NUM,
    relationship as MEM_REL_TO_SUB,
    coverage_type as COVERAGE_TYPE,
    period_start as CVG_EFF_DT,
    period_end as CVG_TERM_DT,
    status as CVG_STATUS
from {{ ref('stg_fhir__coverage') }}
where reject_reason is null
