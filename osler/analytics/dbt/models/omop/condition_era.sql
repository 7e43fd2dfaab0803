-- CONDITION_ERA (OHDSI's standard era logic): occurrences of the same condition concept whose spans lie within
-- 30 days of each other form one era; concept 0 forms none.
with spans as (
    select person_id, condition_concept_id as concept_id, condition_start_date as start_date,
           coalesce(condition_end_date, condition_start_date + 1) as end_date
    from {{ ref('condition_occurrence') }}
    where condition_concept_id <> 0
),
{{ omop_eras('spans', 30) }},
rows as (
    select
        {{ omop_id('condition_era', "cast(person_id as varchar) || '/' || cast(concept_id as varchar) || '/' || cast(era_start as varchar)") }} as condition_era_id,
        person_id, concept_id as condition_concept_id, era_start as condition_era_start_date,
        era_end as condition_era_end_date, occurrences as condition_occurrence_count
    from eras
)
{{ omop_select('condition_era', 'rows', ['condition_era_id', 'person_id', 'condition_concept_id',
   'condition_era_start_date', 'condition_era_end_date', 'condition_occurrence_count']) }}
