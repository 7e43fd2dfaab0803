-- VISIT_OCCURRENCE: encounters. Class → visit concept (IMP inpatient 9201, EMER 9203, else outpatient 9202).
with rows as (
    select
        {{ omop_id('visit', 'encounter.encounter_id') }} as visit_occurrence_id,
        {{ omop_id('person', 'encounter.patient_id') }} as person_id,
        case encounter.class_code when 'IMP' then 9201 when 'EMER' then 9203 else 9202 end as visit_concept_id,
        cast(encounter.period_start as date) as visit_start_date,
        cast(encounter.period_start as timestamp) as visit_start_datetime,
        cast(coalesce(encounter.period_end, encounter.period_start) as date) as visit_end_date,
        cast(coalesce(encounter.period_end, encounter.period_start) as timestamp) as visit_end_datetime,
        {{ omop_ehr_type() }} as visit_type_concept_id,
        case when practitioner.practitioner_id is not null
             then {{ omop_id('provider', 'practitioner.practitioner_id') }} end as provider_id,
        case when organization.organization_id is not null
             then {{ omop_id('care_site', 'organization.organization_id') }} end as care_site_id,
        left(encounter.class_code, 50) as visit_source_value,
        0 as visit_source_concept_id
    from {{ ref('stg_fhir__encounter') }} as encounter
    left join {{ ref('stg_fhir__practitioner') }} as practitioner
        on practitioner.practitioner_id = encounter.practitioner_id
    left join {{ ref('stg_fhir__organization') }} as organization
        on organization.organization_id = encounter.organization_id
    where encounter.reject_reason is null and encounter.period_start is not null
)
{{ omop_select('visit_occurrence', 'rows', ['visit_occurrence_id', 'person_id', 'visit_concept_id',
   'visit_start_date', 'visit_start_datetime', 'visit_end_date', 'visit_end_datetime', 'visit_type_concept_id',
   'provider_id', 'care_site_id', 'visit_source_value', 'visit_source_concept_id']) }}
