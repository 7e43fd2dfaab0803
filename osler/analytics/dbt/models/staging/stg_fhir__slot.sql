-- Slot (Cadence): a bookable piece of a schedule — free, busy (booked), busy-unavailable (blocked), …
{{ config(tags=['fhir_Slot'], unique_key='slot_id', pre_hook="{{ forget_changed('Slot', 'slot_id') }}") }}
{% call fhir_source('Slot') %}
select
    res_id as slot_id,
    extract_seq,
    {{ fhir_ref_id('$.schedule.reference', 'Schedule') }} as schedule_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_instant('$.start') }} as start_at,
    {{ fhir_instant('$.end') }} as end_at
from source
{% endcall %}
