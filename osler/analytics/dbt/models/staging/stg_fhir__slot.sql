-- Slot (Cadence): a bookable piece of a schedule — free, busy (booked), busy-unavailable (blocked), …
with source as (select * from {{ fhir_current('Slot') }})
select
    res_id as slot_id,
    {{ fhir_ref_id('$.schedule.reference', 'Schedule') }} as schedule_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_instant('$.start') }} as start_at,
    {{ fhir_instant('$.end') }} as end_at
from source
