"""EpicCare Ambulatory (charting): what a DME order says — the DeviceRequest a DME supplier fills.

The item is a HCPCS Level II code (E0601 CPAP, E0470 bilevel, E1390 oxygen concentrator, A7030 mask…)
with its settings as ``parameter``s — a fixed CPAP pressure (``valueQuantity`` cm[H2O]) or an auto-CPAP
range (``valueRange``), bilevel IPAP/EPAP, mask type, heated humidifier, oxygen flow (L/min) — and the
quantity. Settings must fit the device (no oxygen flow on a CPAP) and lie within what the device can
deliver (422). The diagnoses that justify it are ICD-10-CM ``reasonCode``s, the documents that support
it (the note, the sleep study) ``supportingInfo``, the supplier the ``performer``, and everyone copied
on it (the supplier's intake desk, another clinician) a ``cc-recipient`` extension each; ``orders``
sends each of them an in-basket message when the order is signed.
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import EncounterContext, read_known, same_patient
from osler.apps.charting.requests import DmeOrder, DmeSettings
from osler.apps.charting.vital_signs import implausible
from osler.apps.clinic import Clinic
from osler.chronicle.records import Actor

SETTINGS = {"quantity": "Quantity", "pressure": "CPAP pressure", "pressure-range": "Auto-CPAP pressure range",
            "ipap": "Inspiratory positive airway pressure", "epap": "Expiratory positive airway pressure",
            "mask": "Mask type", "humidifier": "Heated humidifier", "oxygen-flow": "Oxygen flow rate"}
MASKS = {"full-face": "Full face mask", "nasal": "Nasal mask", "nasal-pillows": "Nasal pillows"}
# Which settings each kind of device takes (the kind is a property of the HCPCS code in charting's data).
FITS = {"pressure": {"cpap"}, "pressure_min": {"cpap"}, "pressure_max": {"cpap"}, "ipap": {"bilevel"},
        "epap": {"bilevel"}, "mask": {"cpap", "bilevel"}, "humidifier": {"cpap", "bilevel"}, "oxygen_flow": {"oxygen"}}
# What the devices can deliver: cm[H2O] for pressures, L/min for oxygen.
LIMITS = {"pressure": (4, 20), "pressure_min": (4, 20), "pressure_max": (4, 20), "ipap": (4, 30), "epap": (3, 25),
          "oxygen_flow": (0.25, 15)}


def dme_order(clinic: Clinic, context: EncounterContext, request: DmeOrder, actor: Actor) -> dict[str, Any]:
    device = v.known(terminology.HCPCS, request.hcpcs, what="HCPCS code", use="dme")
    _check_settings(request.settings, device)
    supplier = read_known(clinic, "Organization", request.supplier, actor=actor)
    for document_id in request.supporting_documents:
        same_patient(read_known(clinic, "DocumentReference", document_id, actor=actor), context, path="subject")
    for recipient in request.cc:
        res_type, _, res_id = recipient.partition("/")
        read_known(clinic, res_type, res_id, actor=actor)
    resource: dict[str, Any] = {
        "resourceType": "DeviceRequest", "codeCodeableConcept": {"coding": [device.coding()]},
        "parameter": [_setting("quantity", valueQuantity={"value": request.quantity}), *_parameters(request.settings)],
        "performer": v.reference(f"Organization/{supplier.res_id}", supplier.resource.get("name"))}
    if request.supporting_documents:
        resource["supportingInfo"] = [v.reference(f"DocumentReference/{d}") for d in request.supporting_documents]
    if request.cc:
        resource["extension"] = [v.extension(v.CC_RECIPIENT_EXT, valueReference=v.reference(r)) for r in request.cc]
    return resource


def _check_settings(settings: DmeSettings, device: terminology.Concept) -> None:
    kind = device.properties["charting"]["kind"]
    given = settings.model_dump(exclude_none=True)
    for name, value in given.items():
        if kind not in FITS[name]:
            implausible(f"settings.{name}", f"the setting {name} does not fit {device.code} ({device.display})")
        if name in LIMITS and not LIMITS[name][0] <= value <= LIMITS[name][1]:
            low, high = LIMITS[name]
            implausible(f"settings.{name}", f"{name} {value:g} is outside what {device.code} delivers "
                                            f"({low:g} to {high:g})")
    if settings.pressure_min is not None and settings.pressure_max is not None \
            and settings.pressure_min >= settings.pressure_max:
        implausible("settings.pressure_min", "the auto-CPAP range's low pressure must be below its high pressure")
    if settings.ipap is not None and settings.epap is not None and settings.epap >= settings.ipap:
        implausible("settings.epap", "EPAP must be lower than IPAP")


def _parameters(settings: DmeSettings) -> list[dict[str, Any]]:
    parameters = []
    if settings.pressure is not None:
        parameters.append(_setting("pressure", valueQuantity=_water(settings.pressure)))
    if settings.pressure_min is not None and settings.pressure_max is not None:
        parameters.append(_setting("pressure-range", valueRange={"low": _water(settings.pressure_min),
                                                                 "high": _water(settings.pressure_max)}))
    for name in ("ipap", "epap"):
        if (value := getattr(settings, name)) is not None:
            parameters.append(_setting(name, valueQuantity=_water(value)))
    if settings.mask is not None:
        parameters.append(_setting("mask", valueCodeableConcept=v.concept(v.DME_SETTING, settings.mask,
                                                                          MASKS[settings.mask])))
    if settings.humidifier is not None:
        parameters.append(_setting("humidifier", valueBoolean=settings.humidifier))
    if settings.oxygen_flow is not None:
        parameters.append(_setting("oxygen-flow", valueQuantity=_ucum(settings.oxygen_flow, "L/min")))
    return parameters


def _setting(code: str, **value: Any) -> dict[str, Any]:
    return {"code": v.concept(v.DME_SETTING, code, SETTINGS[code]), **value}


def _water(value: float) -> dict[str, Any]:
    return _ucum(value, "cm[H2O]")


def _ucum(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": terminology.UCUM,
            "code": terminology.require(terminology.UCUM, unit).code}
