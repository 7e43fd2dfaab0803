-- LabComponentResultFact (Caboodle): one row per lab result component — a laboratory Observation or one
-- filed under an order — with value, unit, flag, reference range, and the minutes from order to result.
with lines as (
    select observation_id, order_id
    from (select OBSERVATION_ID as observation_id, ORDER_PROC_ID as order_id,
                 row_number() over (partition by OBSERVATION_ID order by ORDER_PROC_ID, LINE) as nth
          from {{ ref('ORDER_RESULTS') }}) as filed
    where nth = 1
),
results as (
    select o.*, lines.order_id
    from {{ ref('stg_fhir__observation') }} as o
    left join lines using (observation_id)
    where o.reject_reason is null and (o.category = 'laboratory' or lines.order_id is not null)
)
select
    {{ surrogate_key("'Observation|' || r.observation_id") }} as LabComponentResultKey,
    r.observation_id as ObservationEpicId,
    {{ patient_version_columns() }},
    encounter.EncounterKey,
    r.order_id as OrderEpicId,
    {{ date_key(utc_date('coalesce(r.issued_at, r.effective_at)')) }} as ResultDateKey,
    r.effective_at as CollectedInstant,
    coalesce(r.issued_at, r.effective_at) as ResultInstant,
    orders.ORDERING_DATE as OrderedInstant,
    {{ minutes_between('orders.ORDERING_DATE', 'coalesce(r.issued_at, r.effective_at)') }} as OrderToResultMinutes,
    r.code_system as ComponentCodeSystem,
    r.code as ComponentCode,
    r.code_text as ComponentName,
    coalesce(cast(r.value_number as varchar), r.value_text) as Value,
    r.value_number as NumericValue,
    r.value_unit as Unit,
    r.reference_low as ReferenceLow,
    r.reference_high as ReferenceHigh,
    r.interpretation as Flag,
    coalesce(r.interpretation in ('H', 'HH', 'L', 'LL', 'A', 'AA', 'HU', 'LU'),
             r.value_number < r.reference_low or r.value_number > r.reference_high, false) as IsAbnormal,
    r.status as ResultStatus
from results as r
{{ patient_version_joins('r.patient_id', utc_date('coalesce(r.issued_at, r.effective_at)')) }}
left join {{ ref('EncounterFact') }} as encounter on encounter.EncounterEpicCsn = r.encounter_id
left join {{ ref('ORDER_PROC') }} as orders on orders.ORDER_PROC_ID = r.order_id
