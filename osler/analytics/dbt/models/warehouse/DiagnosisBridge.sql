-- DiagnosisBridge (Caboodle): encounter ↔ diagnosis, ranked. The encounter's own diagnosis list gives the
-- rank (1 is primary); Conditions filed under the encounter but not listed follow it, in id order. A code
-- named twice keeps its best rank.
with listed as (
    select d.encounter_id, d.condition_id, d.diagnosis_rank, 0 as unlisted
    from {{ ref('stg_fhir__encounter_diagnosis') }} as d
),
filed as (
    select c.encounter_id, c.condition_id,
           coalesce((select max(diagnosis_rank) from listed where listed.encounter_id = c.encounter_id), 0)
               + row_number() over (partition by c.encounter_id order by c.condition_id) as diagnosis_rank,
           1 as unlisted
    from {{ ref('stg_fhir__condition') }} as c
    where c.reject_reason is null and c.encounter_id is not null
      and c.condition_id not in (select condition_id from listed where condition_id is not null)
),
ranked as (
    select entries.encounter_id, entries.condition_id, entries.diagnosis_rank, events.DiagnosisKey
    from (select * from listed union all select * from filed) as entries
    join {{ ref('DiagnosisEventFact') }} as events on events.ConditionEpicId = entries.condition_id
)
select
    encounter.EncounterKey,
    ranked.DiagnosisKey,
    min(ranked.diagnosis_rank) as DiagnosisRank,
    min(ranked.diagnosis_rank) = 1 as IsPrimary,
    min(ranked.condition_id) as ConditionEpicId
from ranked
join {{ ref('EncounterFact') }} as encounter on encounter.EncounterEpicCsn = ranked.encounter_id
group by encounter.EncounterKey, ranked.DiagnosisKey
