-- OBSERVATION_PERIOD: one span per person, from the first to the last visit or event recorded.
with dates as (
    select person_id, visit_start_date as start_date, visit_end_date as end_date from {{ ref('visit_occurrence') }}
    union all
    select person_id, start_date, coalesce(end_date, start_date) from {{ ref('int_omop__events') }}
),
rows as (
    select
        {{ omop_id('observation_period', 'cast(person_id as varchar)') }} as observation_period_id,
        person_id,
        min(start_date) as observation_period_start_date,
        greatest(max(end_date), max(start_date)) as observation_period_end_date,
        {{ omop_ehr_type() }} as period_type_concept_id
    from dates
    where person_id in (select person_id from {{ ref('person') }})
    group by person_id
)
{{ omop_select('observation_period', 'rows', ['observation_period_id', 'person_id', 'observation_period_start_date',
   'observation_period_end_date', 'period_type_concept_id']) }}
