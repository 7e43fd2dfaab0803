-- rejects: every extracted resource the transform could not map, with the reason; the rest of the
-- load goes on without it. (Epic: the Clarity ETL's error tables.)
{% set mapped = [
    ('Encounter', 'stg_fhir__encounter', 'encounter_id'),
    ('Condition', 'stg_fhir__condition', 'condition_id'),
    ('Observation', 'stg_fhir__observation', 'observation_id'),
    ('MedicationRequest', 'stg_fhir__medication_request', 'medication_request_id'),
    ('Procedure', 'stg_fhir__procedure', 'procedure_id'),
    ('Immunization', 'stg_fhir__immunization', 'immunization_id'),
    ('AllergyIntolerance', 'stg_fhir__allergy_intolerance', 'allergy_id'),
    ('Coverage', 'stg_fhir__coverage', 'coverage_id'),
    ('PractitionerRole', 'stg_fhir__practitioner_role', 'practitioner_role_id'),
    ('Appointment', 'stg_fhir__appointment', 'appointment_id'),
    ('DiagnosticReport', 'stg_fhir__diagnostic_report', 'diagnostic_report_id'),
    ('ServiceRequest', 'stg_fhir__service_request', 'service_request_id'),
] %}
{% for resource_type, model, key in mapped %}
select '{{ resource_type }}' as resource_type, {{ key }} as res_id, reject_reason
from {{ ref(model) }}
where reject_reason is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
