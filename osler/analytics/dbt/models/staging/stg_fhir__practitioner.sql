-- Practitioner (providers), flattened; the NPI when there is one.
with source as (select * from {{ fhir_current('Practitioner') }})
select
    res_id as practitioner_id,
    json_extract_string(list_filter(json_extract(resource, '$.identifier[*]'),
        lambda i: json_extract_string(i, '$.system') = 'http://hl7.org/fhir/sid/us-npi')[1], '$.value') as npi,
    {{ fhir_string('$.name[0].family') }} as family_name,
    {{ fhir_string('$.name[0].given[0]') }} as given_name,
    {{ fhir_string('$.name[0].prefix[0]') }} as prefix,
    {{ fhir_string('$.gender') }} as gender,
    coalesce(try_cast({{ fhir_string('$.active') }} as boolean), true) as active
from source
