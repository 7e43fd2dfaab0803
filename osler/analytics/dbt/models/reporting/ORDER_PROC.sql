-- ORDER_PROC (Clarity): procedure and lab orders — every ServiceRequest, and every DiagnosticReport that
-- no ServiceRequest ordered (a result that arrived without an order in Osler, as Synthea's do).
with requests as (
    select service_request_id as order_id, patient_id, encounter_id, code, code_text, category, status,
           authored_at, requester_id, 'ServiceRequest' as source
    from {{ ref('stg_fhir__service_request') }}
    where reject_reason is null
),
reports as (
    select diagnostic_report_id as order_id, patient_id, encounter_id, code, code_text, category, status,
           effective_at as authored_at, null as requester_id, 'DiagnosticReport' as source
    from {{ ref('stg_fhir__diagnostic_report') }}
    where reject_reason is null and service_request_id is null
),
results as (
    select coalesce(service_request_id, diagnostic_report_id) as order_id, max(issued_at) as result_time
    from {{ ref('stg_fhir__diagnostic_report') }}
    where reject_reason is null
    group by 1
),
orders as (select * from requests union all select * from reports)
select
    orders.order_id as ORDER_PROC_ID,
    orders.patient_id as PAT_ID,
    orders.encounter_id as PAT_ENC_CSN_ID,
    orders.code as PROC_CODE,
    orders.code_text as DESCRIPTION,
    case when upper(orders.category) in ('LAB', '108252007', 'LABORATORY') then 'Lab' else 'Procedure' end
        as ORDER_TYPE,
    orders.status as ORDER_STATUS,
    orders.authored_at as ORDERING_DATE,
    orders.requester_id as AUTHRZING_PROV_ID,
    results.result_time as RESULT_TIME,
    orders.source as ORDER_SOURCE
from orders
left join results using (order_id)
