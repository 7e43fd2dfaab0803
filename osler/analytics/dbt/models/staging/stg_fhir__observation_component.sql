-- The components of an Observation (a blood-pressure panel's systolic and diastolic), one row each.
{{ config(tags=['fhir_Observation'], unique_key='observation_id', pre_hook="{{ forget_changed('Observation', 'observation_id') }}") }}
{% call fhir_source('Observation') %}
select
    source.res_id as observation_id,
    source.extract_seq,
    cast(components.position as integer) as component_number,
    {{ fhir_string('$.code.coding[0].code', 'components.entry') }} as code,
    {{ fhir_decimal('$.valueQuantity.value', 'components.entry') }} as value_number,
    coalesce({{ fhir_string('$.valueQuantity.unit', 'components.entry') }},
             {{ fhir_string('$.valueQuantity.code', 'components.entry') }}) as value_unit
from source, {{ fhir_elements('$.component', 'components') }}
{% endcall %}
