-- One row per result of a DiagnosticReport, numbered in the report's order: the lines of ORDER_RESULTS.
-- A report based on a ServiceRequest files its results under that order; a report without one is its own order.
with reports as (
    select diagnostic_report_id, coalesce(service_request_id, diagnostic_report_id) as order_id, result_ids
    from {{ ref('stg_fhir__diagnostic_report') }}
    where reject_reason is null
),
lines as (
    select diagnostic_report_id, order_id, unnest(result_ids) as observation_id,
           generate_subscripts(result_ids, 1) as line
    from reports
)
select
    lines.order_id,
    row_number() over (partition by lines.order_id order by lines.diagnostic_report_id, lines.line) as line,
    lines.diagnostic_report_id,
    lines.observation_id
from lines
join {{ ref('stg_fhir__observation') }} as observations using (observation_id)
where observations.reject_reason is null
