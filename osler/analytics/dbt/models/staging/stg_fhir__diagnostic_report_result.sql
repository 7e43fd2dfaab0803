-- The results of a DiagnosticReport, in the report's order: the Observation each names, one row each.
{{ config(tags=['fhir_DiagnosticReport'], unique_key='diagnostic_report_id', pre_hook="{{ forget_changed('DiagnosticReport', 'diagnostic_report_id') }}") }}
{% call fhir_source('DiagnosticReport') %}
select
    source.res_id as diagnostic_report_id,
    source.extract_seq,
    cast(results.position as integer) as result_number,
    {{ fhir_ref_id('$.reference', 'Observation', 'results.entry') }} as observation_id
from source, {{ fhir_elements('$.result', 'results') }}
{% endcall %}
