-- ProviderDim (Caboodle): one row per provider, and the "*Unspecified" row (-1) for facts without one.
select
    {{ surrogate_key("'Provider|' || PROV_ID") }} as ProviderKey,
    PROV_ID as ProviderEpicId,
    PROV_NAME as Name,
    NPI as Npi,
    SEX as Sex,
    SPECIALTY as PrimarySpecialty,
    ACTIVE_STATUS = 'Active' as IsActive
from {{ ref('CLARITY_SER') }}
union all
select -1, null, '*Unspecified', null, 'Unknown', null, true
