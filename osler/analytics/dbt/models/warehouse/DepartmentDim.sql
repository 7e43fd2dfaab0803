-- DepartmentDim (Caboodle): one row per department, and the "*Unspecified" row (-1) for facts without one.
select
    {{ surrogate_key("'Department|' || DEPARTMENT_ID") }} as DepartmentKey,
    DEPARTMENT_ID as DepartmentEpicId,
    DEPARTMENT_NAME as DepartmentName,
    DEPT_ABBREVIATION as DepartmentAbbreviation,
    CITY as City,
    STATE as StateOrProvince,
    RECORD_STATUS = 'Active' as IsActive
from {{ ref('CLARITY_DEP') }}
union all
select -1, null, '*Unspecified', null, null, null, true
