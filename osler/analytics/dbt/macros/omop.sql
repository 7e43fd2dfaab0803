{#
  OMOP CDM helpers. `omop_id(kind, id)` is the stable row id of a FHIR resource: the first 60 bits of
  md5(kind/id), the same on every run (no mapping table to keep). `omop_select(table, relation, provided)`
  selects the CDM columns of `table` in the specification's order and types (macros/omop_spec.sql, generated
  from OHDSI's field list): the `provided` ones from `relation`, null for the rest.
  `omop_vocabulary_id(system)` names the OMOP vocabulary of a FHIR code system.
#}

{% macro omop_id(kind, id_sql) -%}
    {{ md5_bigint("'" ~ kind ~ "/' || " ~ id_sql) }}
{%- endmacro %}

{# The first 60 bits of the md5 of a text as a BIGINT, the same on every engine. #}
{% macro md5_bigint(text_sql) -%}
    {{ return(adapter.dispatch('md5_bigint')(text_sql)) }}
{%- endmacro %}

{% macro default__md5_bigint(text_sql) -%}
    ('0x' || substr(md5({{ text_sql }}), 1, 15))::bigint
{%- endmacro %}

{% macro postgres__md5_bigint(text_sql) -%}
    ('x' || lpad(substr(md5({{ text_sql }}), 1, 15), 16, '0'))::bit(64)::bigint
{%- endmacro %}

{% macro omop_select(table, relation, provided) -%}
select
    {%- for name, type in omop_spec()[table] %}
    cast({{ name if name in provided else 'null' }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ relation }}
{%- endmacro %}

{% macro omop_vocabulary_id(system_sql) -%}
    case {{ system_sql }}
        when 'http://snomed.info/sct' then 'SNOMED'
        when 'http://loinc.org' then 'LOINC'
        when 'http://www.nlm.nih.gov/research/umls/rxnorm' then 'RxNorm'
        when 'http://hl7.org/fhir/sid/cvx' then 'CVX'
        when 'http://hl7.org/fhir/sid/icd-10-cm' then 'ICD10CM'
        when 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets' then 'HCPCS'
        when 'http://www.ama-assn.org/go/cpt' then 'CPT4'
    end
{%- endmacro %}

{# The EHR type concept (32817): every Osler row comes from its EHR. #}
{% macro omop_ehr_type() -%}32817{%- endmacro %}

{#
  OHDSI's era logic over `spans` (person_id, concept_id, start_date, end_date): spans of one concept whose gap to
  every earlier span's end is at most `window_days` join one era. Emits the CTEs up to `eras` (person_id,
  concept_id, era_start, era_end, occurrences, exposed_days).
#}
{% macro omop_eras(spans, window_days) -%}
era_ordered as (
    select *, max(end_date) over (partition by person_id, concept_id order by start_date, end_date
                                  rows between unbounded preceding and 1 preceding) as previous_end
    from {{ spans }}
),
era_numbered as (
    select *, sum(case when previous_end is null or start_date > previous_end + {{ window_days }} then 1 else 0 end)
              over (partition by person_id, concept_id order by start_date, end_date rows unbounded preceding)
              as era_number
    from era_ordered
),
eras as (
    select person_id, concept_id, min(start_date) as era_start, max(end_date) as era_end, count(*) as occurrences,
           least(sum(end_date - start_date), max(end_date) - min(start_date)) as exposed_days
    from era_numbered
    group by person_id, concept_id, era_number
)
{%- endmacro %}
