-- Encounter, flattened, with the visit's clock as check-in keeps it (osler/apps/checkin/tracking.py):
-- arrival = statusHistory[arrived].period.start, roomed = first location period start,
-- seen = first participant period start, checked out = period.end once finished.
{{ config(tags=['fhir_Encounter', 'fhir_Patient'], unique_key='encounter_id', pre_hook="{{ forget_changed('Encounter', 'encounter_id') }}") }}
{% call fhir_source('Encounter', ('encounter_id', 'patient_id')) %}
select
    res_id as encounter_id,
    extract_seq,
    {{ fhir_ref_id('$.subject.reference', 'Patient') }} as patient_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.class.code') }} as class_code,
    coalesce({{ fhir_string('$.type[0].coding[0].code') }}, {{ fhir_string('$.serviceType.coding[0].code') }}) as type_code,
    coalesce({{ fhir_string('$.type[0].text') }}, {{ fhir_string('$.serviceType.text') }},
             {{ fhir_string('$.type[0].coding[0].display') }}) as type_text,
    {{ fhir_instant('$.period.start') }} as period_start,
    {{ fhir_instant('$.period.end') }} as period_end,
    {{ fhir_ref_id('$.participant[0].individual.reference', 'Practitioner') }} as practitioner_id,
    {{ fhir_ref_id('$.serviceProvider.reference', 'Organization') }} as organization_id,
    {{ fhir_ref_id('$.appointment[0].reference', 'Appointment') }} as appointment_id,
    {{ fhir_ref_id('$.location[0].location.reference', 'Location') }} as location_id,
    {{ safe_cast(fhir_first('$.statusHistory', '$.period.start', [('$.status', '=', 'arrived')]), 'timestamptz') }}
        as arrived_at,
    {{ fhir_instant('$.location[0].period.start') }} as roomed_at,
    {{ safe_cast(fhir_first('$.participant', '$.period.start', [('$.period.start', 'exists', '')]), 'timestamptz') }}
        as seen_at,
    case when {{ fhir_string('$.status') }} = 'finished' then {{ fhir_instant('$.period.end') }} end as checked_out_at,
    {{ reject_reason([(fhir_ref_id('$.subject.reference', 'Patient') ~ ' is null', 'no subject Patient'),
        (unknown_patient(fhir_ref_id('$.subject.reference', 'Patient')), 'Patient not in the extract')]) }} as reject_reason
from source
{% endcall %}
