{# Generic tests of the warehouse models.

  Generic test of a type-2 dimension: per durable key, the rows' [start, end) ranges follow each other
  without gap or overlap, the last one is open (end 9999-12-31), and exactly that row is current.
  Returns one row per durable key that breaks it.
#}
{% test type2_history(model, durable_key, start_column, end_column, current_column) %}
with ordered as (
    select
        {{ durable_key }} as durable_key,
        {{ start_column }} as start_date,
        {{ end_column }} as end_date,
        {{ current_column }} as is_current,
        lead({{ start_column }}) over (partition by {{ durable_key }} order by {{ start_column }}) as next_start
    from {{ model }}
),
broken_ranges as (
    select durable_key, 'range empty, overlapping or leaving a gap' as problem
    from ordered
    where start_date >= end_date or end_date is distinct from coalesce(next_start, date '9999-12-31')
       or is_current is distinct from (end_date = date '9999-12-31')
),
broken_current as (
    select durable_key, 'not exactly one current row' as problem
    from ordered
    group by durable_key
    having count(*) filter (where is_current) != 1
)
select * from broken_ranges
union all
select * from broken_current
{% endtest %}

{# Generic test: no value of `column_name` is negative (a duration, a count). #}
{% test non_negative(model, column_name) %}
select {{ column_name }} from {{ model }} where {{ column_name }} < 0
{% endtest %}
