-- Task: work items (in-basket tasks, waitlist offers) — who it is for, its code, when asked and last changed.
{{ config(tags=['fhir_Task'], unique_key='task_id', pre_hook="{{ forget_changed('Task', 'task_id') }}") }}
{% call fhir_source('Task') %}
select
    res_id as task_id,
    extract_seq,
    {{ fhir_ref_id('$.for.reference', 'Patient') }} as patient_id,
    {{ fhir_string('$.status') }} as status,
    {{ fhir_string('$.priority') }} as priority,
    {{ fhir_string('$.code.coding[0].system') }} as code_system,
    {{ fhir_string('$.code.coding[0].code') }} as code,
    {{ fhir_string('$.owner.reference') }} as owner_reference,
    {{ fhir_instant('$.authoredOn') }} as authored_at,
    {{ fhir_instant('$.lastModified') }} as last_modified_at
from source
{% endcall %}
