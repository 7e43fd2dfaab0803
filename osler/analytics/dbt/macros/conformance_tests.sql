{# Generic tests that check several columns of a table in one query.

  dbt spends ~20 ms of Python per test node (compiling, events, bookkeeping) against ~1 ms of DuckDB work for
  a not-null check, so checking a table's columns test by test made the test nodes half of a nightly build
  (measured: 436 nodes, 7.3 s of a 9.9 s build on 100 patients). These run each table's checks in one query
  and return one row per check that fails, naming it, with the count of rows that break it.
#}

{# A primary key: unique and never null (what `[unique, not_null]` checks, in one test). #}
{% test primary_key(model, column_name) %}
select '{{ column_name }}' as key_column, count(*) - count(distinct {{ column_name }}) as failures
from {{ model }}
having count(*) - count(distinct {{ column_name }}) > 0
{% endtest %}

{# A table's conformance to its specification (the OMOP CDM's, for the omop models):
   `primary_key` unique and not null, every `required` column not null, and every `references` entry
   (`column`, `to` a ref or source, `field`) pointing at an existing row when it is set. #}
{% test table_conformance(model, primary_key=none, required=[], references=[]) %}
with counts as (
    select
        count(*) as total
        {%- if primary_key %}, count(distinct {{ primary_key }}) as distinct_keys{% endif %}
        {%- for column in required %}, count(*) - count({{ column }}) as null_{{ loop.index }}{% endfor %}
    from {{ model }}
),
checks as (
    select 'none' as check_name, 0 as failures
    {%- if primary_key %}
    union all
    select 'primary key {{ primary_key }}: unique and not null', total - distinct_keys from counts
    {%- endif %}
    {%- for column in required %}
    union all
    select 'not null {{ column }}', null_{{ loop.index }} from counts
    {%- endfor %}
    {%- for reference in references %}
    union all
    select 'reference {{ reference.column }} to {{ reference.to.identifier }}.{{ reference.field }}', count(*)
    from {{ model }} as child
    where child.{{ reference.column }} is not null
      and not exists (select 1 from {{ reference.to }} as parent
                      where parent.{{ reference.field }} = child.{{ reference.column }})
    {%- endfor %}
)
select check_name, failures from checks where failures > 0
{% endtest %}
