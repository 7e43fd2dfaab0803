-- DateDim (Caboodle): one row per calendar day (UTC) from the earliest to the latest date any fact is keyed by.
with dates as (
    select CONTACT_DATE as day from {{ ref('PAT_ENC') }}
    union all select {{ utc_date('ENC_CLOSE_TIME') }} from {{ ref('PAT_ENC') }}
    union all select {{ utc_date('APPT_DTTM') }} from {{ ref('APPOINTMENT') }}
    union all select {{ utc_date('ORDERING_DATE') }} from {{ ref('ORDER_MED') }}
    union all select {{ utc_date('coalesce(issued_at, effective_at)') }} from {{ ref('stg_fhir__observation') }}
    union all select {{ utc_date('coalesce(onset_at, recorded_at)') }} from {{ ref('stg_fhir__condition') }}
    union all select {{ utc_date('abated_at') }} from {{ ref('stg_fhir__condition') }}
    union all select {{ utc_date('start_at') }} from {{ ref('stg_fhir__slot') }}
),
span as (select min(day) as first_day, max(day) as last_day from dates),
days as (
    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as day
    from span
    where first_day is not null
)
select
    {{ date_key('day') }} as DateKey,
    day as Date,
    year(day) as Year,
    quarter(day) as Quarter,
    month(day) as Month,
    monthname(day) as MonthName,
    isoyear(day) as IsoYear,
    week(day) as IsoWeek,
    strftime(day, '%G-W%V') as IsoWeekName,
    cast(date_trunc('week', day) as date) as WeekStartDate,
    isodow(day) as DayOfWeek,
    dayname(day) as DayName,
    isodow(day) >= 6 as IsWeekend
from days
