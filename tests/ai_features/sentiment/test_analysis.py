import pickle

import pytest

from ai_features.capabilities.sentiment.analysis import (
    AnalysisOptions,
    analyze_text,
    content_hash,
    interaction_text,
)


def test_analyze_text__praise__positive_with_textblob_words():
    result = analyze_text("Thanks, the onboarding was excellent.")

    assert result.tone == "positive"
    assert result.base_tone == "positive"
    assert (result.polarity, result.subjectivity) == (0.6, 0.6)
    assert result.reason == ""
    assert result.explanation == (
        {"words": ["excellent"], "polarity": 1.0, "subjectivity": 1.0, "source": "textblob"},
        {"words": ["thanks"], "polarity": 0.2, "subjectivity": 0.2, "source": "textblob"},
    )


def test_analyze_text__complaint__negative():
    result = analyze_text("The replacement part is the wrong size and the manual is terrible.")

    assert result.tone == "negative"
    assert result.polarity == -0.75
    assert [item["words"] for item in result.explanation] == [["terrible"], ["wrong"]]


def test_analyze_text__plain_request__neutral():
    result = analyze_text("Please send the price list for the catalogue.")

    assert result.tone == "neutral"
    assert result.polarity == 0.0
    assert result.explanation == ()


def test_analyze_text__urgent_words__urgent_with_cue_in_explanation():
    result = analyze_text("Our checkout is down, please call me immediately.")

    assert result.tone == "urgent"
    assert result.urgent_cues == 2
    assert {"words": ["immediately", "is down"], "tone": "urgent", "source": "cue"} in (
        result.explanation
    )


def test_analyze_text__frustrated_words__frustrated():
    result = analyze_text("Still waiting for the refund, this is the third time I ask.")

    assert result.tone == "frustrated"
    assert result.frustrated_cues == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Empty text; nothing to analyse."),
        ("   \n\t ", "Empty text; nothing to analyse."),
        (None, "Not text (NoneType); nothing to analyse."),
        (b"bytes", "Not text (bytes); nothing to analyse."),
        (42, "Not text (int); nothing to analyse."),
        ("1234 5678 --- !!", "No words to analyse."),
    ],
)
def test_analyze_text__no_words__neutral_with_reason(text, reason):
    result = analyze_text(text)

    assert (result.tone, result.polarity, result.subjectivity) == ("neutral", 0.0, 0.0)
    assert result.reason == reason
    assert result.analysed is False


def test_analyze_text__longer_than_max__truncated_and_says_so():
    text = "Excellent service. " + "filler words here " * 1000 + "Terrible terrible awful."

    result = analyze_text(text, AnalysisOptions(max_length=100))

    assert result.reason == "Only the first 100 characters were analysed."
    assert result.tone == "positive"
    assert all(item["words"] != ["terrible"] for item in result.explanation)


def test_sentiment_result__pickled__round_trips_as_plain_data():
    result = analyze_text("The demo was great but the price is too high.")

    assert pickle.loads(pickle.dumps(result)) == result
    assert result.as_dict()["tone"] == result.tone


def test_content_hash__text_changes__hash_changes():
    assert content_hash("Hello") == content_hash("Hello")
    assert content_hash("Hello") != content_hash("Hello!")


def test_interaction_text__subject_and_body__joined_without_blanks():
    assert interaction_text("Invoice", "  It is wrong. ") == "Invoice\nIt is wrong."
    assert interaction_text("", None) == ""
