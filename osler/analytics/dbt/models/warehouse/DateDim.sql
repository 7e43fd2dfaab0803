-- DateDim (Caboodle): one row per calendar day (UTC) from the earliest to the latest date any fact is keyed by.
{% set months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
                 'November', 'December'] %}
{% set weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] %}
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
    select cast(series.day as date) as day
    from span, generate_series(cast(span.first_day as timestamp), cast(span.last_day as timestamp),
                               interval '1 day') as series(day)
    where span.first_day is not null
),
calendar as (
    select day, cast(extract(isoyear from day) as integer) as iso_year, cast(extract(week from day) as integer) as iso_week,
           cast(extract(isodow from day) as integer) as iso_weekday, cast(extract(month from day) as integer) as month
    from days
)
select
    {{ date_key('day') }} as DateKey,
    day as Date,
    cast(extract(year from day) as integer) as Year,
    cast(extract(quarter from day) as integer) as Quarter,
    month as Month,
    case month {% for name in months %}when {{ loop.index }} then '{{ name }}' {% endfor %}end as MonthName,
    iso_year as IsoYear,
    iso_week as IsoWeek,
    cast(iso_year as varchar) || '-W' || lpad(cast(iso_week as varchar), 2, '0') as IsoWeekName,
    cast(date_trunc('week', day) as date) as WeekStartDate,
    iso_weekday as DayOfWeek,
    case iso_weekday {% for name in weekdays %}when {{ loop.index }} then '{{ name }}' {% endfor %}end as DayName,
    iso_weekday >= 6 as IsWeekend
from calendar
