-- PATIENT (Clarity): one row per patient, demographics as registration keeps them.
select
    patient_id as PAT_ID,
    mrn as PAT_MRN_ID,
    upper(coalesce(family_name, '')) || ',' || upper(coalesce(given_name, '')) as PAT_NAME,
    family_name as PAT_LAST_NAME,
    given_name as PAT_FIRST_NAME,
    birth_date as BIRTH_DATE,
    case gender when 'female' then 'Female' when 'male' then 'Male' when 'other' then 'Other' else 'Unknown' end as SEX,
    cast(deceased_at as date) as DEATH_DATE,
    address_line as ADD_LINE_1,
    city as CITY,
    state as STATE,
    postal_code as ZIP,
    phone as HOME_PHONE,
    marital_status_code as MARITAL_STATUS,
    race_text as PATIENT_RACE,
    ethnicity_text as ETHNIC_GROUP,
    last_updated as UPDATE_DATE
from {{ ref('stg_fhir__patient') }}
