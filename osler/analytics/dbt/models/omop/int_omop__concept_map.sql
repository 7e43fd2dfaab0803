-- Source code → standard concept through 'Maps to' (OHDSI: the source-to-standard query), one row per
-- (vocabulary, code): the valid source concept, and its first valid standard target (0 when none).
{{ config(schema='intermediate') }}
with mapped as (
    select
        source.vocabulary_id,
        source.concept_code,
        source.concept_id as source_concept_id,
        coalesce(standard.concept_id, 0) as concept_id,
        standard.domain_id,
        row_number() over (partition by source.vocabulary_id, source.concept_code
                           order by source.invalid_reason nulls first, standard.concept_id nulls last) as preference
    from {{ source('vocab', 'concept') }} as source
    left join {{ source('vocab', 'concept_relationship') }} as maps_to
        on maps_to.concept_id_1 = source.concept_id and maps_to.relationship_id = 'Maps to'
        and maps_to.invalid_reason is null
    left join {{ source('vocab', 'concept') }} as standard
        on standard.concept_id = maps_to.concept_id_2 and standard.standard_concept = 'S'
)
select vocabulary_id, concept_code, source_concept_id, concept_id, domain_id from mapped where preference = 1
