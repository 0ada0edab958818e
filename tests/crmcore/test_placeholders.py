"""The placeholder language of campaign templates (crmcore.placeholders)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore import placeholders
from crmcore.extensions import MergeField
from crmcore.placeholders import TemplateError, message_problems, parse, render, template_problems

FIELDS = {
    "first_name": MergeField("first_name", "First name", max_length=100),
    "company": MergeField("company", "Company", may_be_empty=True),
    "last_purchase": MergeField("last_purchase", "Last purchase", may_be_empty=True),
    "next_product": MergeField("next_product", "Next product", may_be_empty=True),
}


def _problems(source: str, **kwargs) -> list[str]:
    return [str(p) for p in template_problems(source, fields=FIELDS, **kwargs)]


def _render(source: str, **values) -> placeholders.Rendered:
    return render(parse(source), values, fields=FIELDS)


# -- syntax and validation ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            "Hi {",
            "Line 1, column 4: This placeholder is not closed: end it with } on the same line, "
            "or write {{ for a brace.",
        ),
        (
            "{0.__class__}",
            "Line 1, column 1: “0.__class__” is not a placeholder name: names are letters, "
            "digits and underscores, such as {first_name}.",
        ),
        (
            "Hi\n{first_name:>1000000}",
            "Line 2, column 1: “first_name:>1000000” is not a placeholder name: names are "
            "letters, digits and underscores, such as {first_name}.",
        ),
        (
            "{first_name!r:>99999999}",
            "Line 1, column 1: “first_name!r:>99999999” is not a placeholder name: names are "
            "letters, digits and underscores, such as {first_name}.",
        ),
        (
            "Hi }",
            "Line 1, column 4: A } with no { before it: write }} for a brace, or open a "
            "placeholder with {.",
        ),
        (
            "Hi ] there",
            "Line 1, column 4: A ] with no [ before it: write ]] for a bracket, or open an "
            "optional sentence with [.",
        ),
        (
            "A [b {company} [c {company}]]",
            "Line 1, column 16: Optional sentences do not nest: close the one opened at line 1, "
            "column 3 first, or write [[ for a bracket.",
        ),
        (
            "A\n  [since {company}",
            "Line 2, column 3: This optional sentence is not closed: end it with ], or write [[ "
            "for a bracket.",
        ),
        (
            "[Nothing decides this.]",
            "Line 1, column 1: An optional sentence needs a placeholder that decides whether it "
            "is shown: write [[ and ]] for brackets.",
        ),
        (
            "{}",
            "Line 1, column 1: An empty placeholder: write a name such as {first_name}, or {{ "
            "for a brace.",
        ),
        (
            "{company|}",
            "Line 1, column 1: The fallback of {company} is empty: write the words to use when "
            "there is no value, as in {company|your team}.",
        ),
        (
            "{company|a|b}",
            "Line 1, column 1: A placeholder takes one fallback, after one |: {company|words}.",
        ),
        (
            "Hi {frist_name}",
            "Line 1, column 4: Unknown placeholder {frist_name}: did you mean {first_name}?",
        ),
        (
            "Hi {zzz}",
            "Line 1, column 4: Unknown placeholder {zzz}. Known: {first_name}, {company}, "
            "{last_purchase}, {next_product}.",
        ),
        (
            "Dear {first_name} of {company}",
            "Line 1, column 22: {company} (company) is empty for some contacts: give it a "
            "fallback, as in {company|your words}, or put it in an optional sentence in [ ].",
        ),
        ("Hi\x00", "Line 1, column 3: A control character (U+0000) cannot be in a template."),
    ],
)
def test_template_problems__hostile_or_wrong__one_problem_at_its_position(source, problem):
    assert _problems(source) == [problem]


@pytest.mark.parametrize(
    "source",
    [
        "Hi {first_name}",
        "Hi { first_name }, {company|your team} [since {last_purchase}.]",
        "{{literal}} [[brackets]] and }} ]]",
        "[Since your last order of {last_purchase}, we have improved a lot.]",
        "{next_product|our Analytics add-on}",
        "",
    ],
)
def test_template_problems__valid__none(source):
    assert _problems(source) == []


def test_template_problems__several__all_reported_in_order():
    assert _problems("{a} {company}\n{b}") == [
        "Line 1, column 1: Unknown placeholder {a}. Known: {first_name}, {company}, "
        "{last_purchase}, {next_product}.",
        "Line 1, column 5: {company} (company) is empty for some contacts: give it a fallback, "
        "as in {company|your words}, or put it in an optional sentence in [ ].",
        "Line 2, column 1: Unknown placeholder {b}. Known: {first_name}, {company}, "
        "{last_purchase}, {next_product}.",
    ]


def test_template_problems__one_megabyte_body__refused_at_the_limit(settings):
    settings.CRMCORE_TEMPLATE_MAX_LENGTH = 10_000
    assert _problems("{first_name}" * 100_000) == [
        "Line 1, column 10001: The template is 1,200,000 characters long; the limit is 10,000."
    ]


def test_template_problems__could_render_past_the_limit__refused(settings):
    settings.CRMCORE_MESSAGE_MAX_LENGTH = 1_000
    # the 10th first name of up to 100 characters each passes 1,000
    assert _problems("Hi " + "{first_name} " * 11) == [
        "Line 1, column 121: With long values this template could make a message of more than "
        "1,000 characters, the limit."
    ]


def test_template_problems__subject_on_two_lines__refused():
    assert _problems("Hello\n{first_name}", subject=True) == [
        "Line 1, column 6: A subject is one line."
    ]


def test_template_problems__subject_past_250__refused():
    assert _problems("x" * 251, subject=True) == [
        "Line 1, column 251: The template is 251 characters long; the limit is 250."
    ]


def test_template_problems__crlf_from_a_textarea__counted_as_one_line_break():
    assert _problems("Hi\r\n\r\n{zzz|x}") == [
        "Line 3, column 1: Unknown placeholder {zzz}. Known: {first_name}, {company}, "
        "{last_purchase}, {next_product}."
    ]


def test_merge_fields__registered_by_another_app__known(monkeypatch):
    from crmcore import extensions

    monkeypatch.setattr(extensions.merge_fields, "_items", {})
    assert "next_product" not in placeholders.merge_fields()
    extensions.merge_fields.register(MergeField("next_product", "Next", may_be_empty=True))
    assert template_problems("{next_product|our add-on}") == []
    assert [str(p) for p in template_problems("{next_product}")] == [
        "Line 1, column 1: {next_product} (next) is empty for some contacts: give it a "
        "fallback, as in {next_product|your words}, or put it in an optional sentence in [ ]."
    ]


# -- rendering ----------------------------------------------------------------

WIN_BACK = (
    "Hi {first_name},\n\n"
    "[Since your last order of {last_purchase}, we have improved a lot.] "
    "{next_product|Our Analytics add-on} might be a good fit.\n\n"
    "Best regards"
)


def test_render__every_value__placeholders_filled_nothing_noted():
    result = _render(
        WIN_BACK, first_name="Ada", last_purchase="Starter", next_product="Analytics Pro"
    )
    assert result.text == (
        "Hi Ada,\n\nSince your last order of Starter, we have improved a lot. Analytics Pro "
        "might be a good fit.\n\nBest regards"
    )
    assert (result.fallbacks, result.left_out, result.empty) == ((), (), ())


def test_render__no_values__fallback_used_and_sentence_left_out_without_a_trace():
    result = _render(WIN_BACK, first_name="Ada", last_purchase="  ", next_product=None)
    assert result.text == ("Hi Ada,\n\nOur Analytics add-on might be a good fit.\n\nBest regards")
    assert result.fallbacks == (("next_product", "Our Analytics add-on"),)
    assert result.left_out == (
        ("Since your last order of {last_purchase}, we have improved a lot.", ("last_purchase",)),
    )


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("A [{company} x.] B", "A B"),
        ("A [{company} x.]\nB", "A\nB"),
        ("A\n\n[{company} x.]\n\nB", "A\n\nB"),
        ("[{company} x.]\n\nB", "B"),
        ("A [{company} x.]", "A"),
        ("A. [{company} x.] [{last_purchase} y.] B.", "A. B."),
        ("{{x}} [[y]] {first_name}", "{x} [y] Ada"),
    ],
)
def test_render__sentence_left_out__spaces_and_blank_lines_go_with_it(source, text):
    assert _render(source, first_name="Ada").text == text


def test_render__value_ending_a_sentence__period_not_doubled():
    assert _render("Good fit for {company|you}. Next", company="Robles B.V.").text == (
        "Good fit for Robles B.V. Next"
    )
    assert _render("Wait.. {first_name}..", first_name="Ada").text == "Wait.. Ada.."


def test_render__values_are_text_only__never_formatted_or_evaluated():
    result = _render("{first_name} {company|x}", first_name="{0.__class__}", company="{{}}[")
    assert result.text == "{0.__class__} {{}}["


def test_render__huge_values__cut_to_the_field_and_the_output_bound():
    tree = parse("{first_name}" * 50)
    result = render(tree, {"first_name": "x" * 10_000}, fields=FIELDS, max_length=1_234)
    assert (len(result.text), result.truncated) == (1_234, True)
    assert len(render(parse("{first_name}"), {"first_name": "y" * 500}, fields=FIELDS).text) == 100


def test_render__subject__line_breaks_in_values_folded():
    result = render(parse("Hi {first_name}"), {"first_name": "A\nB"}, single_line=True)
    assert result.text == "Hi A B"


# -- property: any text is either a template or the language's own error --------

ALPHABET = st.sampled_from([*"{}[]|:!.>_ \nab0é", "first_name", "company", "{{", "]]"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=60).map("".join), st.text(max_size=40))
def test_language__any_text__only_its_own_error_and_bounded_output(source, value):
    try:
        problems = template_problems(source, fields=FIELDS)
    except Exception as exc:  # pragma: no cover - the property under test
        raise AssertionError(f"{type(exc).__name__} on {source!r}") from exc
    assert all(isinstance(p, TemplateError) and p.line >= 1 and p.column >= 1 for p in problems)
    try:
        tree = parse(source)
    except TemplateError:
        return
    result = render(tree, dict.fromkeys(FIELDS, value), fields=FIELDS, max_length=500)
    assert len(result.text) <= 500
    assert len(result.text) <= len(source) + 200 * len(list(tree.placeholders()))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_language__random_unicode__only_its_own_error(source):
    try:
        template_problems(source, fields=FIELDS)
        message_problems(subject=source[:80], body=source)
    except Exception as exc:  # pragma: no cover - the property under test
        raise AssertionError(f"{type(exc).__name__} on {source!r}") from exc


# -- checks of a finished message ---------------------------------------------


def test_message_problems__the_mail_merge_of_the_report__every_problem_named():
    body = "Since your last order () we have improved a lot.  might be a good fit."
    assert message_problems(subject="We miss you", body=body) == [
        "Body: empty brackets or quotes: “…nce your last order () we have improved a …”.",
        "Body: a doubled space: “…have improved a lot.  might be a good fit.”.",
        "Body: a sentence starts in lower case: “…ve improved a lot.  might be a good fit.”.",
    ]


@pytest.mark.parametrize(
    ("subject", "body", "problem"),
    [
        ("", "Hello.", "Subject: empty."),
        ("X" * 151, "Hello.", "Subject: 151 characters, more than 150."),
        ("Hi", "", "Body: empty."),
        ("Hi", "Hi Ada,\n\n.\n\nBest", "Body: paragraph 2 is empty."),
        ("Hi", "Hi {first_name}.", "Body: a placeholder was left in: “Hi {first_name}.”."),
        ("Hi", "Hi “” Ada.", "Body: empty brackets or quotes: “Hi “” Ada.”."),
        ("Hi", "Hi Ada,, welcome.", "Body: doubled punctuation: “Hi Ada,, welcome.”."),
        ("Hi", "Hi Ada . Welcome.", "Body: a space before punctuation: “Hi Ada . Welcome.”."),
        ("Hi", "hello Ada.", "Body: a sentence starts in lower case: “hello Ada.”."),
        ("Hi Ada !", "Hello.", "Subject: a space before punctuation: “Hi Ada !”."),
    ],
)
def test_message_problems__one_defect__named(subject, body, problem):
    assert message_problems(subject=subject, body=body) == [problem]


@pytest.mark.parametrize(
    "body",
    [
        "Hi Ada,\n\nThanks, e.g. this works... Really?! Yes.\n\nBest regards,\nSam",
        "Call us at 14:00 or see https://example.com/a?b=1.",
        "Your order (“Starter”) arrived.",
    ],
)
def test_message_problems__well_written__none(body):
    assert message_problems(subject="Hello Ada", body=body) == []
