-- Appointment, flattened: its patient, provider and place among the participants.
with source as (select * from {{ fhir_current('Appointment') }}),
flattened as (
    select
        res_id as appointment_id,
        {{ fhir_string('$.status') }} as status,
        json_extract_string(list_filter(json_extract(resource, '$.participant[*]'),
            lambda p: starts_with(json_extract_string(p, '$.actor.reference'), 'Patient/'))[1], '$.actor.reference')[9:]
            as patient_id,
        json_extract_string(list_filter(json_extract(resource, '$.participant[*]'),
            lambda p: starts_with(json_extract_string(p, '$.actor.reference'), 'Practitioner/'))[1],
            '$.actor.reference')[14:] as practitioner_id,
        json_extract_string(list_filter(json_extract(resource, '$.participant[*]'),
            lambda p: starts_with(json_extract_string(p, '$.actor.reference'), 'Location/'))[1], '$.actor.reference')[10:]
            as location_id,
        coalesce({{ fhir_string('$.serviceType[0].text') }}, {{ fhir_string('$.appointmentType.text') }},
                 {{ fhir_string('$.serviceType[0].coding[0].display') }}) as visit_type,
        {{ fhir_instant('$.start') }} as start_at,
        {{ fhir_instant('$.end') }} as end_at,
        try_cast({{ fhir_string('$.minutesDuration') }} as integer) as minutes,
        {{ fhir_instant('$.created') }} as created_at,
        {{ fhir_string('$.cancelationReason.text') }} as cancel_reason
    from source
)
select
    *,
    {{ reject_reason([('patient_id is null', 'no Patient participant'),
                      (unknown_patient('patient_id'), 'Patient not in the extract')]) }} as reject_reason
from flattened
