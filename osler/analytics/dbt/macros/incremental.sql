{#
  Incremental staging (materialized='incremental'). Every staging row keeps the change-feed sequence number
  it was extracted at (`extract_seq`); the newest one a model holds is how far it has read the extract. An
  incremental build re-reads only the changes after it (fhir_current), once its pre-hook `forget_changed` has
  removed the old rows of the resources they touch — so a deleted resource, or an element list that became
  empty, leaves nothing behind. A model that rejects rows of unknown patients also rebuilds the rows of the
  patients that appeared or disappeared since. `dbt build --full-refresh` (`osler etl --full`) rebuilds all.
#}

{# The newest `extract_seq` this model holds (0 when empty); none when this build is not incremental. #}
{% macro last_extract_seq() -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set found = run_query('select coalesce(max(extract_seq), 0) from ' ~ this) -%}
    {{ return(found.columns[0].values()[0] | int) }}
{%- endmacro %}

{% macro forget_changed(resource_type, key) -%}
    {%- set since = last_extract_seq() -%}
    {%- if since is not none -%}
        delete from {{ this }} where {{ key }} in (select res_id from {{ fhir_parts(resource_type, since) }} as changed)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# Patients added to the extract since `since`, or deleted since. #}
{% macro patients_came_or_went_ids(since) -%}
    select res_id from {{ fhir_parts('Patient', since) }} as changed
    where deleted or res_id not in (select res_id from {{ fhir_parts('Patient') }} as known where seq <= {{ since }})
{%- endmacro %}

{% macro patients_came_or_went(since) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query('select count(*) from (' ~ patients_came_or_went_ids(since) ~ ') as ids') -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
