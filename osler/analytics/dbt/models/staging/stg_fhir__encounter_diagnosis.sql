-- An Encounter's diagnosis list: each Condition it names, with its rank (1 is primary) and use.
{{ config(tags=['fhir_Encounter'], unique_key='encounter_id', pre_hook="{{ forget_changed('Encounter', 'encounter_id') }}") }}
{% call fhir_source('Encounter') %}
select
    source.res_id as encounter_id,
    source.extract_seq,
    {{ fhir_ref_id('$.condition.reference', 'Condition', 'entries.entry') }} as condition_id,
    coalesce({{ fhir_integer('$.rank', 'entries.entry') }}, cast(entries.position as integer)) as diagnosis_rank,
    {{ fhir_string('$.use.coding[0].code', 'entries.entry') }} as diagnosis_use
from source, {{ fhir_elements('$.diagnosis', 'entries') }}
{% endcall %}
