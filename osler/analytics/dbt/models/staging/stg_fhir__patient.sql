-- Patient, flattened: demographics and the MRN (identifier typed MR, or Osler's own MRN system).
with source as (select * from {{ fhir_current('Patient') }})
select
    res_id as patient_id,
    json_extract_string(list_filter(json_extract(resource, '$.identifier[*]'),
        lambda i: json_extract_string(i, '$.type.coding[0].code') = 'MR'
                  or json_extract_string(i, '$.system') = '{{ var("mrn_system") }}')[1], '$.value') as mrn,
    {{ fhir_string('$.name[0].family') }} as family_name,
    {{ fhir_string('$.name[0].given[0]') }} as given_name,
    {{ fhir_date('$.birthDate') }} as birth_date,
    {{ fhir_string('$.gender') }} as gender,
    {{ fhir_instant('$.deceasedDateTime') }} as deceased_at,
    {{ fhir_string('$.address[0].line[0]') }} as address_line,
    {{ fhir_string('$.address[0].city') }} as city,
    {{ fhir_string('$.address[0].state') }} as state,
    {{ fhir_string('$.address[0].postalCode') }} as postal_code,
    {{ fhir_string('$.telecom[0].value') }} as phone,
    {{ fhir_string('$.maritalStatus.coding[0].code') }} as marital_status_code,
    last_updated
from source
