{#
  Reading the extract's FHIR JSON, on DuckDB (the Parquet parts, read in place) and on PostgreSQL (the parts
  loaded into extract.fhir_resource as jsonb by osler/analytics/postgres.py). `fhir_current(type)` is the
  latest extracted version of each resource of that type that is not deleted, with its JSON as `resource`;
  the others pull one value out of a JSON document by a simple JSONPath ('$.code.coding[0].code').
  Incremental builds (macros/incremental.sql) narrow `fhir_current` to what changed since the last build.
#}

{# The rows of the parts of `resource_type` (res_id, version, last_updated, deleted, seq, resource);
   with `since`, only the rows of changes after that change-feed sequence number. #}
{% macro fhir_parts(resource_type, since=none) -%}
    {{ return(adapter.dispatch('fhir_parts')(resource_type, since)) }}
{%- endmacro %}

{% macro default__fhir_parts(resource_type, since) -%}
    {%- set files = fhir_part_files(resource_type, since) -%}
    {%- if files -%}
        (select * from read_parquet([{% for file in files %}'{{ file }}'{{ ', ' if not loop.last }}{% endfor %}])
         {%- if since is not none %} where seq > {{ since }}{% endif %})
    {%- else -%}
        (select null::varchar as res_id, null::integer as version, null::timestamptz as last_updated,
                null::boolean as deleted, null::bigint as seq, null::varchar as resource where false)
    {%- endif -%}
{%- endmacro %}

{% macro postgres__fhir_parts(resource_type, since) -%}
    (select res_id, version, last_updated, deleted, seq, resource from {{ source('extract', 'fhir_resource') }}
     where res_type = '{{ resource_type }}'{% if since is not none %} and seq > {{ since }}{% endif %})
{%- endmacro %}

{# How many parts `fhir_parts` reads: on PostgreSQL the extract is one table, where a resource may repeat. #}
{% macro fhir_parts_count(resource_type, since) -%}
    {{ return(adapter.dispatch('fhir_parts_count')(resource_type, since)) }}
{%- endmacro %}

{% macro default__fhir_parts_count(resource_type, since) -%}
    {{ return(fhir_part_files(resource_type, since) | length) }}
{%- endmacro %}

{% macro postgres__fhir_parts_count(resource_type, since) -%}
    {{ return(2) }}
{%- endmacro %}

{# The part files of a type (DuckDB), those holding changes after `since` only when it is given: a part is
   named part-<first seq>-<last seq>.parquet. Empty at parse time. #}
{% macro fhir_part_files(resource_type, since) -%}
    {%- set files = [] -%}
    {%- if execute -%}
        {%- set pattern = var('extract_dir') ~ '/' ~ resource_type ~ '/part-*.parquet' -%}
        {%- for path in run_query("select file from glob('" ~ pattern ~ "') order by file").columns[0].values() -%}
            {%- set last_seq = path.split('/')[-1][:-8].split('-')[-1] | int -%}
            {%- if since is none or last_seq > since -%}
                {%- do files.append(path) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(files) }}
{%- endmacro %}

{# The latest extracted version of each resource of `resource_type`, deleted ones left out, with the
   change-feed sequence number it was extracted at (`extract_seq`). In an incremental build only the resources
   changed since the model was last built — and, given `recheck` = (key column, patient column), the rows of
   the model whose patient appeared or disappeared since (their reject reason may change). #}
{% macro fhir_current(resource_type, recheck=none) -%}
    {%- set since = last_extract_seq() -%}
    {%- set rechecking = since is not none and recheck is not none and patients_came_or_went(since) -%}
    {%- set read_since = none if rechecking else since -%}
    (
        select res_id, version, last_updated, seq as extract_seq, resource
        from (
            {#- One part holds each resource once (an extract run writes a row per resource): no ranking to do,
                and ranking carries every resource's JSON through a sort (1.3 s of 6.5 on 2 million). #}
            {%- if fhir_parts_count(resource_type, read_since) <= 1 %}
            select *, 1 as recency
            {%- else %}
            select *, row_number() over (partition by res_id order by version desc, seq desc) as recency
            {%- endif %}
            from {{ fhir_parts(resource_type, read_since) }} as parts
            {%- if rechecking %}
            where res_id in (select res_id from {{ fhir_parts(resource_type, since) }} as changed)
               or res_id in (select {{ recheck[0] }} from {{ this }}
                             where {{ recheck[1] }} in ({{ patients_came_or_went_ids(since) }}))
            {%- endif %}
        ) as parts
        where recency = 1 and not deleted
    )
{%- endmacro %}

{# A staging model's body over `source` (fhir_current), in a call block: {% call fhir_source('Type') %} select …
   from source {% endcall %}. On DuckDB the resource's JSON is parsed once per row: every `fhir_string` of the
   resource in the body becomes an element of one json_extract_string(resource, [paths]) (parsing it once per
   path costs several times more). #}
{% macro fhir_source(resource_type, recheck=none) -%}
    {{ return(adapter.dispatch('fhir_source')(resource_type, recheck, caller())) }}
{%- endmacro %}

{% macro default__fhir_source(resource_type, recheck, body) -%}
    {%- set paths = [] -%}
    {%- for path in modules.re.findall("json_extract_string\\(resource, '([^']+)'\\)", body) -%}
        {%- if path not in paths -%}{%- do paths.append(path) -%}{%- endif -%}
    {%- endfor -%}
    {%- set flattened = namespace(body=body) -%}
    {%- for path in paths -%}
        {%- set flattened.body = flattened.body.replace("json_extract_string(resource, '" ~ path ~ "')",
                                                        "source.fhir_values[" ~ loop.index ~ "]") -%}
    {%- endfor -%}
with source as (
    select *{% if paths %}, json_extract_string(resource, [{% for path in paths %}'{{ path }}'{{ ', ' if not loop.last }}
                                                        {%- endfor %}]) as fhir_values{% endif %}
    from {{ fhir_current(resource_type, recheck) }} as current_resources
)
{{ flattened.body }}
{%- endmacro %}

{% macro postgres__fhir_source(resource_type, recheck, body) -%}
with source as (select * from {{ fhir_current(resource_type, recheck) }} as current_resources)
{{ body }}
{%- endmacro %}

{# A JSONPath of object keys and array indexes ('$.name[0].family') as PostgreSQL's text path ('{name,0,family}'). #}
{% macro fhir_pg_path(path) -%}
    {{- '{' ~ (path[2:].replace('[', '.').replace(']', '').split('.') | join(',')) ~ '}' -}}
{%- endmacro %}

{# One value of `document` (the resource, or an element of it) as text; null when absent. #}
{% macro fhir_string(path, document='resource') -%}
    {{ return(adapter.dispatch('fhir_string')(path, document)) }}
{%- endmacro %}

{% macro default__fhir_string(path, document) -%}
    json_extract_string({{ document }}, '{{ path }}')
{%- endmacro %}

{% macro postgres__fhir_string(path, document) -%}
    ({{ document }} #>> '{{ fhir_pg_path(path) }}')
{%- endmacro %}

{# The id in a reference to `target_type` ('Patient/123', or a full URL ending so); null for anything else. #}
{% macro fhir_ref_id(path, target_type, document='resource') -%}
    {{ reference_id(fhir_string(path, document), target_type) }}
{%- endmacro %}

{% macro reference_id(reference_sql, target_type) -%}
    {{ return(adapter.dispatch('reference_id')(reference_sql, target_type)) }}
{%- endmacro %}

{# The common 'Type/id' without a regular expression: matching one per reference was a third of a staging
   model's time (measured: Observation on 2 million resources, 6.5 s → 4.1 s); a full URL still takes it. #}
{% macro default__reference_id(reference_sql, target_type) -%}
    {%- set prefix = target_type ~ '/' -%}
    case
        when starts_with({{ reference_sql }}, '{{ prefix }}') and not contains(substr({{ reference_sql }}, {{ prefix | length + 1 }}), '/')
            then nullif(substr({{ reference_sql }}, {{ prefix | length + 1 }}), '')
        when contains({{ reference_sql }}, '/{{ prefix }}')
            then nullif(regexp_extract({{ reference_sql }}, '(^|/){{ target_type }}/([^/]+)$', 2), '')
    end
{%- endmacro %}

{% macro postgres__reference_id(reference_sql, target_type) -%}
    substring({{ reference_sql }} from '(?:^|/){{ target_type }}/([^/]+)$')
{%- endmacro %}

{# Typed values: null when absent or not of the type (a cast that cannot fail the build). #}
{% macro fhir_instant(path, document='resource') -%}{{ safe_cast(fhir_string(path, document), 'timestamptz') }}{%- endmacro %}
{% macro fhir_date(path) -%}{{ safe_cast('left(' ~ fhir_string(path) ~ ', 10)', 'date') }}{%- endmacro %}
{% macro fhir_decimal(path, document='resource') -%}{{ safe_cast(fhir_string(path, document), 'double') }}{%- endmacro %}
{% macro fhir_integer(path, document='resource') -%}{{ safe_cast(fhir_string(path, document), 'integer') }}{%- endmacro %}
{% macro fhir_boolean(path) -%}{{ safe_cast(fhir_string(path), 'boolean') }}{%- endmacro %}

{% macro safe_cast(sql, kind) -%}
    {{ return(adapter.dispatch('safe_cast')(sql, kind)) }}
{%- endmacro %}

{% macro default__safe_cast(sql, kind) -%}try_cast({{ sql }} as {{ kind }}){%- endmacro %}

{# PostgreSQL has no try_cast: functions created by `create_safe_casts` (on-run-start) return null instead. #}
{% macro postgres__safe_cast(sql, kind) -%}{{ target.schema }}.osler_try_{{ kind }}({{ sql }}){%- endmacro %}

{% macro create_safe_casts() -%}
    {{ return(adapter.dispatch('create_safe_casts')()) }}
{%- endmacro %}

{% macro default__create_safe_casts() -%}select 1{%- endmacro %}

{% macro postgres__create_safe_casts() -%}
    {%- for kind, sql_type in [('timestamptz', 'timestamptz'), ('date', 'date'), ('double', 'double precision'),
                               ('integer', 'integer'), ('boolean', 'boolean')] %}
    create or replace function {{ target.schema }}.osler_try_{{ kind }}(value text) returns {{ sql_type }}
        language plpgsql stable as $$ begin return value::{{ sql_type }}; exception when others then return null; end $$;
    {%- endfor %}
{%- endmacro %}

{# How many elements the array at `path` has (null when absent). #}
{% macro fhir_array_length(path) -%}
    {{ return(adapter.dispatch('fhir_array_length')(path)) }}
{%- endmacro %}

{% macro default__fhir_array_length(path) -%}json_array_length(json_extract(resource, '{{ path }}')){%- endmacro %}

{% macro postgres__fhir_array_length(path) -%}jsonb_array_length(resource #> '{{ fhir_pg_path(path) }}'){%- endmacro %}

{# The elements of the array at `path`, as a lateral FROM item `alias`(entry, position) — position from 1. #}
{% macro fhir_elements(path, alias) -%}
    {{ return(adapter.dispatch('fhir_elements')(path, alias)) }}
{%- endmacro %}

{# Only documents whose text has the array's top-level key are parsed for it: most resources have none of
   the arrays listed this way (an Observation's components), and a substring test costs a fraction of a
   parse. The Chronicle stores JSON as it serialized it, keys never escaped. #}
{% macro default__fhir_elements(path, alias) -%}
    {%- set key = path[2:].split('.')[0].split('[')[0] -%}
    unnest(case when contains(resource, '"{{ key }}"') then json_extract(resource, '{{ path }}[*]') end)
        with ordinality as {{ alias }}(entry, position)
{%- endmacro %}

{% macro postgres__fhir_elements(path, alias) -%}
    lateral jsonb_array_elements(resource #> '{{ fhir_pg_path(path) }}') with ordinality as {{ alias }}(entry, position)
{%- endmacro %}

{# `value_path` of the first element of the array at `array_path` meeting any of `conditions`:
   (element path, '=' | 'starts_with' | 'exists', text). #}
{% macro fhir_first(array_path, value_path, conditions) -%}
    {{ return(adapter.dispatch('fhir_first')(array_path, value_path, conditions)) }}
{%- endmacro %}

{% macro default__fhir_first(array_path, value_path, conditions) -%}
    json_extract_string(list_filter(json_extract(resource, '{{ array_path }}[*]'), lambda element:
        {%- for path, op, value in conditions %}
        {{ ' or ' if not loop.first }}
        {%- if op == '=' %}json_extract_string(element, '{{ path }}') = '{{ value }}'
        {%- elif op == 'starts_with' %}starts_with(json_extract_string(element, '{{ path }}'), '{{ value }}')
        {%- else %}json_extract_string(element, '{{ path }}') is not null{% endif %}
        {%- endfor %})[1], '{{ value_path }}')
{%- endmacro %}

{% macro postgres__fhir_first(array_path, value_path, conditions) -%}
    (jsonb_path_query_first(resource, '{{ array_path }}[*] ? (
        {%- for path, op, value in conditions %}{{ ' || ' if not loop.first }}
        {%- if op == '=' %}@{{ path[1:] }} == "{{ value }}"
        {%- elif op == 'starts_with' %}@{{ path[1:] }} starts with "{{ value }}"
        {%- else %}exists(@{{ path[1:] }}){% endif %}
        {%- endfor %}){{ value_path[1:] }}') #>> '{}')
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
