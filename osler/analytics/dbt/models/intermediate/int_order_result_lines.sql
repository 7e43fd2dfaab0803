-- One row per result of a DiagnosticReport, numbered in the report's order: the lines of ORDER_RESULTS.
-- A report based on a ServiceRequest files its results under that order; a report without one is its own order.
with lines as (
    select reports.diagnostic_report_id, coalesce(reports.service_request_id, reports.diagnostic_report_id) as order_id,
           results.observation_id, results.result_number
    from {{ ref('stg_fhir__diagnostic_report') }} as reports
    join {{ ref('stg_fhir__diagnostic_report_result') }} as results using (diagnostic_report_id)
    where reports.reject_reason is null
)
select
    lines.order_id,
    row_number() over (partition by lines.order_id order by lines.diagnostic_report_id, lines.result_number) as line,
    lines.diagnostic_report_id,
    lines.observation_id
from lines
join {{ ref('stg_fhir__observation') }} as observations using (observation_id)
where observations.reject_reason is null
