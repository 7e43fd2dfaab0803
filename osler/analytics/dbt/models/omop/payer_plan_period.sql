-- PAYER_PLAN_PERIOD: coverage with a start date; an open-ended coverage ends the day it starts (the CDM requires
-- an end date and the extract has no later evidence of it). The member id is not carried.
with rows as (
    select
        {{ omop_id('payer_plan_period', 'coverage_id') }} as payer_plan_period_id,
        {{ omop_id('person', 'patient_id') }} as person_id,
        period_start as payer_plan_period_start_date,
        coalesce(period_end, period_start) as payer_plan_period_end_date,
        0 as payer_concept_id,
        left(payor_name, 50) as payer_source_value,
        left(coverage_type, 50) as plan_source_value
    from {{ ref('stg_fhir__coverage') }}
    where reject_reason is null and period_start is not null
)
{{ omop_select('payer_plan_period', 'rows', ['payer_plan_period_id', 'person_id', 'payer_plan_period_start_date',
   'payer_plan_period_end_date', 'payer_concept_id', 'payer_source_value', 'plan_source_value']) }}
