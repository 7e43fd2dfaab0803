"""Parsing of search requests (``osler.chronicle.search.query``): pure, no database."""

from __future__ import annotations

import pytest

from osler.chronicle.search.model import (
    ChainFilter,
    CompositeMatch,
    HasFilter,
    IdentifierMatch,
    Include,
    ParamFilter,
    RangeMatch,
    ReferenceMatch,
    StringMatch,
    TextMatch,
    TokenMatch,
    UriMatch,
    split_escaped,
    unescape,
)
from osler.chronicle.search.query import parse_search
from osler.fhir.index_values import parse_fhir_date_range
from osler.fhir.outcome import BadRequest


def one(res_type: str | None, name: str, value: str) -> ParamFilter:
    query = parse_search(res_type, [(name, value)], strict=True)
    assert len(query.filters) == 1
    found = query.filters[0]
    assert isinstance(found, ParamFilter)
    return found


# --------------------------------------------------------------------------- escapes
def test_split_escaped_keeps_escapes_for_the_next_level() -> None:
    assert split_escaped("a,b\\,c,d", ",") == ["a", "b\\,c", "d"]
    assert split_escaped("x\\|y|z", "|") == ["x\\|y", "z"]
    assert split_escaped("", ",") == [""]
    assert unescape("b\\,c \\$ \\| \\\\") == "b,c $ | \\"
    assert unescape("plain") == "plain"


def test_comma_is_or_and_escaped_comma_is_literal() -> None:
    f = one("Patient", "name", "peter,anna")
    assert f.values == (StringMatch("peter", "peter"), StringMatch("anna", "anna"))
    f = one("Patient", "name", "smith\\, jr")
    assert f.values == (StringMatch("smith, jr", "smith, jr"),)


def test_repeated_names_are_and() -> None:
    query = parse_search("Patient", [("gender", "male"), ("gender", "female")])
    assert [f.values for f in query.filters] == [
        (TokenMatch(None, "male", False),), (TokenMatch(None, "female", False),)]


def test_empty_values_are_ignored() -> None:
    query = parse_search("Patient", [("name", ""), ("gender", "male,")], strict=True)
    assert len(query.filters) == 1
    assert query.filters[0].values == (TokenMatch(None, "male", False),)  # type: ignore[union-attr]


# --------------------------------------------------------------------------- per type
def test_string_normalization_and_modifiers() -> None:
    f = one("Patient", "family", "  MÜLLER  ")
    assert f.values == (StringMatch("muller", "  MÜLLER  "),) and f.modifier is None
    assert one("Patient", "name:exact", "Peter").modifier == "exact"
    assert one("Patient", "name:contains", "ETE").values == (StringMatch("ete", "ETE"),)
    with pytest.raises(BadRequest, match="text"):  # a known modifier we do not support
        one("Patient", "name:text", "x")
    with pytest.raises(BadRequest, match="nope"):
        one("Patient", "name:nope", "x")


def test_token_forms() -> None:
    values = one("Observation", "code", "1234-5,http://loinc.org|1234-5,|1234-5,http://loinc.org|").values
    assert values == (
        TokenMatch(None, "1234-5", False),
        TokenMatch("http://loinc.org", "1234-5", True),
        TokenMatch(None, "1234-5", True),
        TokenMatch("http://loinc.org", None, True),
    )
    assert one("Observation", "code", "a\\|b|c").values == (TokenMatch("a|b", "c", True),)
    assert one("Observation", "code:text", "Glucose  Serum").values == (TextMatch("glucose serum"),)
    assert one("Observation", "code:not", "x").modifier == "not"
    for unsupported in ("of-type", "in", "below", "above", "not-in"):
        with pytest.raises(BadRequest, match=unsupported):
            one("Patient", f"identifier:{unsupported}", "x")


def test_date_prefixes_and_ranges() -> None:
    low, high = parse_fhir_date_range("2020-01")
    for prefix in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"):
        assert one("Patient", "birthdate", f"{prefix}2020-01").values == (RangeMatch(prefix, low, high),)
    assert one("Patient", "birthdate", "2020-01").values == (RangeMatch("eq", low, high),)
    approx = one("Patient", "birthdate", "ap2020-01").values[0]
    assert isinstance(approx, RangeMatch) and approx.low < low and approx.high > high
    instant = one("Observation", "date", "2020-01-01T10:00:00+02:00").values[0]
    assert isinstance(instant, RangeMatch)
    assert (instant.low, instant.high) == parse_fhir_date_range("2020-01-01T08:00:00Z")


@pytest.mark.parametrize("bad", ["notadate", "2020-13", "xx2020", "2020-01-01T25:00", "ge", "20"])
def test_bad_dates_are_rejected_naming_parameter_and_value(bad: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_search("Patient", [("birthdate", bad)])
    assert "birthdate" in caught.value.message and bad in caught.value.message


def test_number_implicit_precision() -> None:
    assert one("RiskAssessment", "probability", "100").values == (RangeMatch("eq", 99.5, 100.5, 100.0),)
    f = one("RiskAssessment", "probability", "0.30").values[0]
    assert isinstance(f, RangeMatch) and (f.low, f.high) == pytest.approx((0.295, 0.305))
    f = one("RiskAssessment", "probability", "1e2").values[0]
    assert isinstance(f, RangeMatch) and (f.low, f.high) == (50.0, 150.0)
    f = one("RiskAssessment", "probability", "gt0.5").values[0]
    assert isinstance(f, RangeMatch) and (f.prefix, f.value) == ("gt", 0.5)
    f = one("RiskAssessment", "probability", "ap100").values[0]
    assert isinstance(f, RangeMatch) and (f.low, f.high) == (90.0, 110.0)
    for bad in ("abc", "1.2.3", "gt", "zz5", "NaN", "inf"):
        with pytest.raises(BadRequest, match="probability"):
            one("RiskAssessment", "probability", bad)


def test_quantity_forms() -> None:
    f = one("Observation", "value-quantity", "le5.4|http://unitsofmeasure.org|mg")
    assert f.values == (RangeMatch("le", 5.35, 5.45, 5.4, "http://unitsofmeasure.org", "mg"),)
    f = one("Observation", "value-quantity", "5.4||mg")
    assert f.values[0] == RangeMatch("eq", 5.35, 5.45, 5.4, None, "mg")
    assert one("Observation", "value-quantity", "5.4").values[0] == RangeMatch("eq", 5.35, 5.45, 5.4)
    with pytest.raises(BadRequest, match="value-quantity"):
        one("Observation", "value-quantity", "5|mg")
    with pytest.raises(BadRequest, match="value-quantity"):
        one("Observation", "value-quantity", "five||mg")


def test_reference_forms() -> None:
    assert one("Observation", "subject", "123").values == (ReferenceMatch(None, "123", None),)
    assert one("Observation", "subject", "Patient/123").values == (ReferenceMatch("Patient", "123", None),)
    assert one("Observation", "subject", "Patient/123/_history/2").values == (
        ReferenceMatch("Patient", "123", None),)
    assert one("Observation", "subject:Patient", "123").values == (ReferenceMatch("Patient", "123", None),)
    url = "http://example.org/fhir/Patient/123"
    assert one("Observation", "subject", url).values == (ReferenceMatch(None, None, url),)
    # A parameter with a single target type implies it.
    assert one("Patient", "organization", "o1").values == (ReferenceMatch("Organization", "o1", None),)
    assert one("Observation", "performer:identifier", "http://npi|111").values == (
        IdentifierMatch("http://npi", "111", True),)
    with pytest.raises(BadRequest, match="Medication"):
        one("Observation", "subject:Medication", "1")
    with pytest.raises(BadRequest, match="Nonsense"):
        one("Observation", "subject:Nonsense", "1")
    with pytest.raises(BadRequest, match="type modifier"):
        one("Observation", "subject:Patient", "Group/1")


def test_uri_modifiers() -> None:
    assert one("Patient", "_profile", "http://x/a").values == (UriMatch("http://x/a"),)
    assert one("Patient", "_source:below", "http://x/a").modifier == "below"
    above = one("Patient", "_source:above", "http://x.org/a/b").values[0]
    assert isinstance(above, UriMatch)
    assert {"http://x.org/a/b", "http://x.org/a", "http://x.org/a/", "http://x.org"} <= set(above.prefixes)


def test_missing_for_every_type() -> None:
    for res_type, name in [("Patient", "name"), ("Patient", "gender"), ("Patient", "birthdate"),
                           ("Observation", "subject"), ("Observation", "value-quantity"),
                           ("RiskAssessment", "probability"), ("Patient", "_profile"),
                           ("Observation", "code-value-quantity")]:
        f = one(res_type, f"{name}:missing", "true")
        assert (f.missing, f.values) == (True, ())
        assert one(res_type, f"{name}:missing", "false").missing is False
    with pytest.raises(BadRequest, match="missing"):
        one("Patient", "name:missing", "maybe")


def test_composite() -> None:
    f = one("Observation", "component-code-value-quantity",
            "http://loinc.org|8480-6$gt100|http://unitsofmeasure.org|mm[Hg]")
    assert f.values == (CompositeMatch(
        TokenMatch("http://loinc.org", "8480-6", True), "quantity",
        RangeMatch("gt", 99.5, 100.5, 100.0, "http://unitsofmeasure.org", "mm[Hg]")),)
    f = one("Observation", "code-value-concept", "72166-2$http://snomed.info/sct|266919005")
    assert f.values[0] == CompositeMatch(TokenMatch(None, "72166-2", False), "token",
                                         TokenMatch("http://snomed.info/sct", "266919005", True))
    f = one("Observation", "code-value-date", "21112-8$ge1974")
    assert isinstance(f.values[0], CompositeMatch) and f.values[0].second_kind == "date"
    f = one("Observation", "code-value-string", "8251-1$Mild\\$ Headache")
    assert f.values[0] == CompositeMatch(TokenMatch(None, "8251-1", False), "string",
                                         StringMatch("mild$ headache", "Mild$ Headache"))
    with pytest.raises(BadRequest, match="two components"):
        one("Observation", "code-value-quantity", "8480-6")
    with pytest.raises(BadRequest, match="code-value-quantity"):
        one("Observation", "code-value-quantity", "8480-6$high")


def test_resource_columns() -> None:
    assert one("Patient", "_id", "a,b").values == (TokenMatch(None, "a", False), TokenMatch(None, "b", False))
    assert one("Patient", "_id", "a").kind == "_id"
    f = one("Patient", "_lastUpdated", "ge2020")
    assert f.kind == "_lastUpdated" and f.values == (RangeMatch("ge", *parse_fhir_date_range("2020")),)
    with pytest.raises(BadRequest, match="_lastUpdated"):
        one("Patient", "_lastUpdated", "yesterday")
    assert one("Patient", "_tag", "http://t|v").kind == "token"
    assert one("Patient", "_security", "R").kind == "token"
    assert one("Patient", "_source", "http://s").kind == "uri"


# --------------------------------------------------------------------------- chains and _has
def test_chain_with_type_modifier() -> None:
    query = parse_search("Observation", [("subject:Patient.name", "peter")], strict=True)
    assert query.filters == [ChainFilter("subject", (("Patient", ParamFilter("name", "string", None, (
        StringMatch("peter", "peter"),))),))]


def test_chain_without_modifier_tries_every_target_defining_the_parameter() -> None:
    query = parse_search("Patient", [("general-practitioner.name", "house")], strict=True)
    chain = query.filters[0]
    assert isinstance(chain, ChainFilter)
    # PractitionerRole has no 'name': only Practitioner and Organization are tried.
    assert sorted(t for t, _ in chain.branches) == ["Organization", "Practitioner"]
    query = parse_search("Encounter", [("subject.birthdate", "1974")], strict=True)
    assert [t for t, _ in query.filters[0].branches] == ["Patient"]  # type: ignore[union-attr]


def test_chain_errors() -> None:
    query = parse_search("Observation", [("subject.nonsense", "x")])
    assert query.filters == [] and "subject.nonsense" in query.issues[0].diagnostics
    with pytest.raises(BadRequest, match=r"subject\.nonsense"):
        parse_search("Observation", [("subject.nonsense", "x")], strict=True)
    with pytest.raises(BadRequest, match="only reference parameters"):
        parse_search("Observation", [("code.name", "x")])
    with pytest.raises(BadRequest, match="birthdate"):
        parse_search("Observation", [("subject:Patient.birthdate", "yesterday")])


def test_has() -> None:
    query = parse_search("Patient", [("_has:Observation:patient:code", "1234-5")], strict=True)
    assert query.filters == [HasFilter("Observation", "patient", ParamFilter(
        "code", "token", None, (TokenMatch(None, "1234-5", False),)))]
    nested = parse_search("Patient", [("_has:Observation:patient:_has:Provenance:target:agent",
                                       "Practitioner/1")])
    outer = nested.filters[0]
    assert isinstance(outer, HasFilter) and isinstance(outer.inner, HasFilter)
    assert outer.inner.source_type == "Provenance"
    with pytest.raises(BadRequest, match="expected _has"):
        parse_search("Patient", [("_has:Observation:patient", "x")])
    with pytest.raises(BadRequest, match="Nope"):
        parse_search("Patient", [("_has:Nope:patient:code", "x")])
    lenient = parse_search("Patient", [("_has:Observation:patient:nonsense", "x")])
    assert lenient.filters == [] and lenient.issues


# --------------------------------------------------------------------------- unknown parameters
def test_unknown_parameters_lenient_and_strict() -> None:
    query = parse_search("Patient", [("foo", "bar"), ("name", "x")])
    assert len(query.filters) == 1
    assert [i.severity for i in query.issues] == ["warning"] and "foo" in query.issues[0].diagnostics
    with pytest.raises(BadRequest, match="foo"):
        parse_search("Patient", [("foo", "bar")], strict=True)
    # Defined but not indexed parameters count as unsupported, not as errors.
    for name in ("_text", "_content", "_query", "_list"):
        assert parse_search("Patient", [(name, "x")]).filters == []
        with pytest.raises(BadRequest, match=name):
            parse_search("Patient", [(name, "x")], strict=True)


def test_malformed_values_fail_even_when_lenient() -> None:
    for pairs in ([("birthdate", "nope")], [("gender:missing", "yes")], [("name:bogus", "x")],
                  [("_count", "-1")], [("_count", "ten")], [("_summary", "maybe")], [("_total", "all")],
                  [("_include", "Observation")], [("_include", "Observation:nope")],
                  [("_include", "Observation:subject:Medication")], [("_revinclude", "*")]):
        with pytest.raises(BadRequest):
            parse_search("Patient", pairs)


# --------------------------------------------------------------------------- result parameters
def test_result_parameters() -> None:
    query = parse_search("Observation", [
        ("_count", "5000"), ("_offset", "10"), ("_summary", "count"), ("_total", "accurate"),
        ("_elements", "id, code"), ("_format", "json"), ("_pretty", "true"), ("_getpages", "abc"),
    ], strict=True, default_count=20, max_count=1000)
    assert (query.count, query.offset, query.summary, query.total) == (1000, 10, "count", "accurate")
    assert query.elements == ["id", "code"] and query.getpages == "abc" and query.filters == []
    assert parse_search("Observation", [], default_count=7).count == 7
    assert parse_search("Observation", [("_count", "0")]).count == 0


def test_sort() -> None:
    query = parse_search("Observation", [("_sort", "date,-value-quantity,_id,-_lastUpdated,code,subject")])
    assert query.sort == [("date", False), ("value-quantity", True), ("_id", False), ("_lastUpdated", True),
                          ("code", False), ("subject", False)]
    assert parse_search("Observation", [("_sort:desc", "date")]).sort == [("date", True)]
    with pytest.raises(BadRequest, match="composite"):
        parse_search("Observation", [("_sort", "code-value-quantity")])
    lenient = parse_search("Observation", [("_sort", "nonsense,date")])
    assert lenient.sort == [("date", False)] and lenient.issues
    with pytest.raises(BadRequest, match="nonsense"):
        parse_search("Observation", [("_sort", "nonsense")], strict=True)


def test_includes() -> None:
    query = parse_search("Observation", [
        ("_include", "Observation:subject"), ("_include", "Observation:subject:Patient"),
        ("_include:iterate", "Patient:general-practitioner"), ("_revinclude", "Provenance:target"),
        ("_revinclude:iterate", "Condition:subject"), ("_include", "*"),
        ("_include:recurse", "Observation:*"),
    ])
    assert query.includes == [
        Include("Observation", "subject", None, False), Include("Observation", "subject", "Patient", False),
        Include("Patient", "general-practitioner", None, True), Include("Observation", None, None, False),
        Include("Observation", None, None, True),
    ]
    assert query.revincludes == [Include("Provenance", "target", None, False),
                                 Include("Condition", "subject", None, True)]
    with pytest.raises(BadRequest):
        parse_search("Observation", [("_include:bogus", "Observation:subject")])
    with pytest.raises(BadRequest, match="code"):
        parse_search("Observation", [("_include", "Observation:code")])  # not a reference


# --------------------------------------------------------------------------- system level
def test_system_level_search() -> None:
    query = parse_search(None, [("_tag", "http://t|vip"), ("_id", "x")], strict=True)
    assert query.types is None
    assert [f.code for f in query.filters] == ["_tag", "_id"]  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match="name"):
        parse_search(None, [("name", "x")], strict=True)
    assert parse_search(None, [("name", "x")]).issues
    typed = parse_search(None, [("_type", "Patient,Practitioner"), ("name", "house")], strict=True)
    assert typed.types == ("Patient", "Practitioner")
    assert typed.filters[0].code == "name"  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match="birthdate"):  # Observation has no birthdate
        parse_search(None, [("_type", "Patient,Observation"), ("birthdate", "2000")], strict=True)
    with pytest.raises(BadRequest, match="Nope"):
        parse_search(None, [("_type", "Patient,Nope")])
