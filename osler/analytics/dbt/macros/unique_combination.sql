{# Generic test: no two rows share the same values of `columns` (a composite key such as ORDER_PROC_ID + LINE). #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as copies
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
