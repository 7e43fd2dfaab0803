{#
  Helpers of the warehouse (Caboodle-like) models: integer surrogate keys, date keys into DateDim, UTC
  dates, and every extracted version of a resource (the history a type-2 dimension is built from).
#}

{# A stable BIGINT key from a business key: the first 60 bits of its MD5 (the same on every rebuild). #}
{% macro surrogate_key(expression) -%}
    cast(('0x' || left(md5(cast({{ expression }} as varchar)), 15)) as bigint)
{%- endmacro %}

{# The calendar day of an instant in UTC (the warehouse's clock), independent of the session's zone. #}
{% macro utc_date(instant) -%}
    cast(timezone('UTC', {{ instant }}) as date)
{%- endmacro %}

{# The DateDim key (yyyymmdd) of an instant or a date; null when it is null. #}
{% macro date_key(value) -%}
    cast(strftime({{ value }}, '%Y%m%d') as integer)
{%- endmacro %}

{# Whole minutes from one instant to another (null when either is missing). #}
{% macro minutes_between(start, finish) -%}
    cast(date_diff('second', {{ start }}, {{ finish }}) / 60.0 as double)
{%- endmacro %}

{#
  Every extracted version of each resource of `resource_type` whose latest version is not deleted: the
  parts keep the version current at each run, so a resource edited between two runs has two rows.
  `is_latest` marks the version staging keeps.
#}
{% macro fhir_versions(resource_type) -%}
    (
        select res_id, version, last_updated, resource::json as resource, recency = 1 as is_latest
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
  `day_sql` (the first version when the day is earlier than the history, the current one when it is null).
  Use with `patient_version_joins(...)` in the from clause.
#}
{% macro patient_version_columns() -%}
    patient_first.DurableKey as PatientDurableKey,
    coalesce(patient_version.PatientKey, patient_first.FirstPatientKey) as PatientKey
{%- endmacro %}

{% macro patient_version_joins(patient_id_sql, day_sql) -%}
    left join (
        select PatientEpicId, any_value(DurableKey) as DurableKey, arg_min(PatientKey, StartDate) as FirstPatientKey
        from {{ ref('PatientDim') }}
        group by PatientEpicId
    ) as patient_first on patient_first.PatientEpicId = {{ patient_id_sql }}
    asof left join {{ ref('PatientDim') }} as patient_version
        on patient_version.PatientEpicId = {{ patient_id_sql }}
        and coalesce({{ day_sql }}, date '9999-12-30') >= patient_version.StartDate
{%- endmacro %}
