-- DRUG_ERA (OHDSI's standard era logic): exposures rolled up to their ingredients through CONCEPT_ANCESTOR; the
-- exposures of one ingredient whose spans lie within 30 days (the persistence window) form one era.
-- gap_days = days inside the era not covered by an exposure.
with spans as (
    select exposure.person_id, ancestor.ancestor_concept_id as concept_id,
           exposure.drug_exposure_start_date as start_date,
           exposure.drug_exposure_end_date as end_date
    from {{ ref('drug_exposure') }} as exposure
    join {{ source('vocab', 'concept_ancestor') }} as ancestor
        on ancestor.descendant_concept_id = exposure.drug_concept_id
    join {{ source('vocab', 'concept') }} as ingredient
        on ingredient.concept_id = ancestor.ancestor_concept_id and ingredient.concept_class_id = 'Ingredient'
    where exposure.drug_concept_id <> 0
),
{{ omop_eras('spans', 30) }},
rows as (
    select
        {{ omop_id('drug_era', "cast(person_id as varchar) || '/' || cast(concept_id as varchar) || '/' || cast(era_start as varchar)") }} as drug_era_id,
        person_id, concept_id as drug_concept_id, era_start as drug_era_start_date, era_end as drug_era_end_date,
        occurrences as drug_exposure_count, (era_end - era_start) - exposed_days as gap_days
    from eras
)
{{ omop_select('drug_era', 'rows', ['drug_era_id', 'person_id', 'drug_concept_id', 'drug_era_start_date',
   'drug_era_end_date', 'drug_exposure_count', 'gap_days']) }}
