{#
  Reading the extract's FHIR JSON (DuckDB). `fhir_current(type)` is the latest extracted version of each
  resource of that type that is not deleted, with its JSON as `resource`; an empty relation when the
  extract holds no part of that type yet. The others pull one value out of `resource` by JSONPath.
#}

{% macro fhir_parts(resource_type) -%}
    {%- set pattern = var('extract_dir') ~ '/' ~ resource_type ~ '/part-*.parquet' -%}
    {%- set found = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')").columns[0].values()[0] -%}
    {%- endif -%}
    {%- if found > 0 -%}
        read_parquet('{{ pattern }}')
    {%- else -%}
        (select null::varchar as res_id, null::integer as version, null::timestamptz as last_updated,
                null::boolean as deleted, null::bigint as seq, null::varchar as resource where false)
    {%- endif -%}
{%- endmacro %}

{% macro fhir_current(resource_type) -%}
    (
        select res_id, version, last_updated, resource::json as resource
        from (
            select *, row_number() over (partition by res_id order by version desc, seq desc) as recency
            from {{ fhir_parts(resource_type) }}
        ) as parts
        where recency = 1 and not deleted
    )
{%- endmacro %}

{% macro fhir_string(path) -%}
    json_extract_string(resource, '{{ path }}')
{%- endmacro %}

{% macro fhir_ref_id(path, target_type) -%}
    nullif(regexp_extract(json_extract_string(resource, '{{ path }}'), '(^|/){{ target_type }}/([^/]+)$', 2), '')
{%- endmacro %}

{% macro fhir_instant(path) -%}
    try_cast(json_extract_string(resource, '{{ path }}') as timestamptz)
{%- endmacro %}

{% macro fhir_date(path) -%}
    try_cast(left(json_extract_string(resource, '{{ path }}'), 10) as date)
{%- endmacro %}

{% macro fhir_decimal(path) -%}
    try_cast(json_extract_string(resource, '{{ path }}') as double)
{%- endmacro %}

{# A reject reason: the first of `checks` (sql condition, reason) whose condition holds, else null. #}
{% macro reject_reason(checks) -%}
    case
    {%- for condition, reason in checks %}
        when {{ condition }} then '{{ reason }}'
    {%- endfor %}
    end
{%- endmacro %}

{# A reject check: the patient `patient_id_sql` names is not in the extract (a dangling reference). #}
{% macro unknown_patient(patient_id_sql) -%}
    {{ patient_id_sql }} not in (select patient_id from {{ ref('stg_fhir__patient') }})
{%- endmacro %}
