{#
  Helpers of the warehouse (Caboodle-like) models: integer surrogate keys, date keys into DateDim, UTC
  dates, and every extracted version of a resource (the history a type-2 dimension is built from).
#}

{# A stable BIGINT key from a business key: the first 60 bits of its MD5 (the same on every rebuild). #}
{% macro surrogate_key(expression) -%}
    {{ md5_bigint('cast(' ~ expression ~ ' as varchar)') }}
{%- endmacro %}

{# The calendar day of an instant in UTC (the warehouse's clock), independent of the session's zone. #}
{% macro utc_date(instant) -%}
    cast({{ instant }} at time zone 'UTC' as date)
{%- endmacro %}

{# The DateDim key (yyyymmdd) of an instant or a date; null when it is null. #}
{% macro date_key(value) -%}
    cast(extract(year from {{ value }}) * 10000 + extract(month from {{ value }}) * 100 + extract(day from {{ value }})
         as integer)
{%- endmacro %}

{# Whole minutes from one instant to another (null when either is missing). #}
{% macro minutes_between(start, finish) -%}
    cast(extract(epoch from ({{ finish }} - {{ start }})) / 60.0 as double precision)
{%- endmacro %}

{#
  Every extracted version of each resource of `resource_type` whose latest version is not deleted: the
  parts keep the version current at each run, so a resource edited between two runs has two rows.
  `is_latest` marks the version staging keeps.
#}
{% macro fhir_versions(resource_type) -%}
    (
        select res_id, version, last_updated, resource, recency = 1 as is_latest
        from (
            select *,
                   row_number() over (partition by res_id order by version desc, seq desc) as recency,
                   first_value(deleted) over (partition by res_id order by version desc, seq desc) as now_deleted,
                   row_number() over (partition by res_id, version order by seq desc) as copy
            from {{ fhir_parts(resource_type) }}
        ) as parts
        where copy = 1 and not now_deleted
    )
{%- endmacro %}

{#
  The patient columns of a fact: its patient's durable key, and the PatientDim version current on
  `day_sql` (the first version when the day is earlier than the history, the current one when it is null):
  the version whose [StartDate, EndDate) holds the day.
  Use with `patient_version_joins(...)` in the from clause.
#}
{% macro patient_version_columns() -%}
    patient_first.DurableKey as PatientDurableKey,
    coalesce(patient_version.PatientKey, patient_first.FirstPatientKey) as PatientKey
{%- endmacro %}

{% macro patient_version_joins(patient_id_sql, day_sql) -%}
    left join (
        select PatientEpicId, DurableKey, PatientKey as FirstPatientKey
        from (select *, row_number() over (partition by PatientEpicId order by StartDate) as nth
              from {{ ref('PatientDim') }}) as versions
        where nth = 1
    ) as patient_first on patient_first.PatientEpicId = {{ patient_id_sql }}
    left join {{ ref('PatientDim') }} as patient_version
        on patient_version.PatientEpicId = {{ patient_id_sql }}
        and coalesce({{ day_sql }}, date '9999-12-30') >= patient_version.StartDate
        and coalesce({{ day_sql }}, date '9999-12-30') < patient_version.EndDate
{%- endmacro %}
