-- MedicationOrderFact (Caboodle): one row per medication order (RxNorm), with its first hand-over to the
-- patient (MedicationDispense.whenHandedOver) and the minutes from prescription to dispense.
with dispenses as (
    select medication_request_id, min(handed_over_at) as first_handed_over_at, count(*) as dispense_count
    from {{ ref('stg_fhir__medication_dispense') }}
    where status = 'completed' and handed_over_at is not null
    group by medication_request_id
)
select
    {{ surrogate_key("'MedicationOrder|' || m.ORDER_MED_ID") }} as MedicationOrderKey,
    m.ORDER_MED_ID as MedicationOrderEpicId,
    {{ patient_version_columns() }},
    encounter.EncounterKey,
    coalesce(provider.ProviderKey, -1) as OrderingProviderKey,
    {{ date_key(utc_date('m.ORDERING_DATE')) }} as OrderedDateKey,
    m.ORDERING_DATE as OrderedInstant,
    m.MEDICATION_ID as MedicationCode,
    m.DESCRIPTION as MedicationName,
    m.SIG as Sig,
    m.QUANTITY as Quantity,
    m.REFILLS as Refills,
    m.ORDER_STATUS as OrderStatus,
    m.ORDER_CLASS as OrderClass,
    dispenses.first_handed_over_at as FirstDispensedInstant,
    coalesce(dispenses.dispense_count, 0) as DispenseCount,
    {{ minutes_between('m.ORDERING_DATE', 'dispenses.first_handed_over_at') }} as OrderToDispenseMinutes
from {{ ref('ORDER_MED') }} as m
{{ patient_version_joins('m.PAT_ID', utc_date('m.ORDERING_DATE')) }}
left join {{ ref('ProviderDim') }} as provider on provider.ProviderEpicId = m.ORD_PROV_ID
left join {{ ref('EncounterFact') }} as encounter on encounter.EncounterEpicCsn = m.PAT_ENC_CSN_ID
left join dispenses on dispenses.medication_request_id = m.ORDER_MED_ID
