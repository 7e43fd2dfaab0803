-- Appointment, flattened: its patient, provider and place among the participants.
{{ config(tags=['fhir_Appointment', 'fhir_Patient'], unique_key='appointment_id', pre_hook="{{ forget_changed('Appointment', 'appointment_id') }}") }}
{% call fhir_source('Appointment', ('appointment_id', 'patient_id')) %}
select
    *,
    {{ reject_reason([('patient_id is null', 'no Patient participant'),
                      (unknown_patient('patient_id'), 'Patient not in the extract')]) }} as reject_reason
from (
    select
        res_id as appointment_id,
        extract_seq,
        {{ fhir_string('$.status') }} as status,
        {%- for kind in ['Patient', 'Practitioner', 'Location'] %}
        {{ reference_id(fhir_first('$.participant', '$.actor.reference', [('$.actor.reference', 'starts_with', kind ~ '/')]),
                        kind) }} as {{ kind | lower }}_id,
        {%- endfor %}
        coalesce({{ fhir_string('$.serviceType[0].text') }}, {{ fhir_string('$.appointmentType.text') }},
                 {{ fhir_string('$.serviceType[0].coding[0].display') }}) as visit_type,
        {{ fhir_instant('$.start') }} as start_at,
        {{ fhir_instant('$.end') }} as end_at,
        {{ fhir_integer('$.minutesDuration') }} as minutes,
        {{ fhir_instant('$.created') }} as created_at,
        {{ fhir_string('$.cancelationReason.text') }} as cancel_reason
    from source
) as flattened
{% endcall %}
