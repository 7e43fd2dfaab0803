-- PatientDim (Caboodle): type-2 history of each patient. A new row starts when a tracked attribute (name,
-- address city/state/postal code, sex, marital status) changed between extracted versions; ranges are
-- [StartDate, EndDate) by UTC day, the last one open (9999-12-31) and current. Several changes on one day
-- keep the day's last state. MRN, birth and death dates are type-1: every row shows the current value.
{% set tracked = ['family_name', 'given_name', 'city', 'state', 'postal_code', 'gender', 'marital_status_code'] %}
with versions as (
    select
        patient_id, version, {{ utc_date('last_updated') }} as changed_on, {{ tracked | join(', ') }},
        row_number() over (partition by patient_id, {{ utc_date('last_updated') }} order by version desc) as nth_of_day
    from {{ ref('stg_fhir__patient_version') }}
    where patient_id in (select patient_id from {{ ref('stg_fhir__patient') }})
),
end_of_day as (  -- the last version of each day, beside the day before's
    select
        *,
        row_number() over (partition by patient_id order by changed_on) as day_number
        {%- for column in tracked %},
        lag({{ column }}) over (partition by patient_id order by changed_on) as previous_{{ column }}
        {%- endfor %}
    from versions
    where nth_of_day = 1
),
changes as (  -- the days a tracked attribute changed
    select * from end_of_day
    where day_number = 1
    {%- for column in tracked %}
       or {{ column }} is distinct from previous_{{ column }}
    {%- endfor %}
),
ranges as (
    select *, coalesce(lead(changed_on) over (partition by patient_id order by changed_on), date '9999-12-31')
              as end_date
    from changes
)
select
    {{ surrogate_key("'Patient|' || ranges.patient_id || '|' || cast(ranges.changed_on as varchar)") }} as PatientKey,
    {{ surrogate_key("'Patient|' || ranges.patient_id") }} as DurableKey,
    ranges.patient_id as PatientEpicId,
    latest.mrn as PrimaryMrn,
    upper(coalesce(ranges.family_name, '')) || ',' || upper(coalesce(ranges.given_name, '')) as Name,
    ranges.family_name as LastName,
    ranges.given_name as FirstName,
    case ranges.gender when 'female' then 'Female' when 'male' then 'Male' when 'other' then 'Other'
        else 'Unknown' end as Sex,
    latest.birth_date as BirthDate,
    cast(latest.deceased_at as date) as DeathDate,
    ranges.city as City,
    ranges.state as StateOrProvince,
    ranges.postal_code as PostalCode,
    ranges.marital_status_code as MaritalStatus,
    ranges.changed_on as StartDate,
    ranges.end_date as EndDate,
    ranges.end_date = date '9999-12-31' as IsCurrent
from ranges
join {{ ref('stg_fhir__patient') }} as latest using (patient_id)
