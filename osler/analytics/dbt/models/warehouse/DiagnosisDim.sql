-- DiagnosisDim (Caboodle): one row per diagnosis code seen in a Condition (ICD-10-CM, SNOMED CT, other).
select
    {{ surrogate_key("'Diagnosis|' || coalesce(code_system, '') || '|' || code") }} as DiagnosisKey,
    case code_system
        when 'http://hl7.org/fhir/sid/icd-10-cm' then 'ICD-10-CM'
        when 'http://snomed.info/sct' then 'SNOMED CT'
        else 'Other'
    end as CodeSet,
    code_system as CodeSystem,
    code as Code,
    mode() within group (order by code_text) as Name
from {{ ref('stg_fhir__condition') }}
where reject_reason is null
group by code_system, code
