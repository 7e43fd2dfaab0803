-- Every extracted version of each patient (not deleted) with the attributes PatientDim tracks as type-2
-- history: name, address, sex, marital status. The parts keep the version current at each run.
{{ config(tags=['fhir_Patient'], materialized='table') }}
with source as (select * from {{ fhir_versions('Patient') }})
select
    res_id as patient_id,
    version,
    last_updated,
    is_latest,
    {{ fhir_string('$.name[0].family') }} as family_name,
    {{ fhir_string('$.name[0].given[0]') }} as given_name,
    {{ fhir_string('$.address[0].city') }} as city,
    {{ fhir_string('$.address[0].state') }} as state,
    {{ fhir_string('$.address[0].postalCode') }} as postal_code,
    {{ fhir_string('$.gender') }} as gender,
    {{ fhir_string('$.maritalStatus.coding[0].code') }} as marital_status_code
from source
