"""Sentiment of a text: pure functions on plain data, no database.

TextBlob's default analyzer (PatternAnalyzer, offline; no NLTK corpora) gives
polarity, subjectivity and the per-word assessments that moved them. Cue words
mark a text ``urgent`` or ``frustrated``; otherwise polarity decides between
``positive``, ``neutral`` and ``negative``. A workspace's :class:`ToneModel`,
learned from its users' corrections, blends with that tone.

Results are frozen dataclasses of plain values, so they can be pickled,
cached and passed between processes (TextBlob's own objects cannot).
textblob and scikit-learn are imported lazily, on first use.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

TONES: tuple[str, ...] = ("positive", "neutral", "negative", "frustrated", "urgent")

URGENT_CUES = re.compile(
    r"\b(?:urgent(?:ly)?|asap|a\.s\.a\.p|as soon as possible|immediately|right away|"
    r"emergency|critical|time[- ]sensitive|top priority|deadline|escalat\w*|"
    r"within the hour|by (?:today|tonight|tomorrow|noon|eod|end of (?:the )?day)|"
    r"(?:is|are|went|still) down|outage|blocking|blocked|can(?:no|')t (?:log ?in|access)|"
    r"right now|before (?:noon|tomorrow|\d{1,2}(?::\d\d)?\s?(?:am|pm)?))\b",
    re.IGNORECASE,
)
FRUSTRATED_CUES = re.compile(
    r"\b(?:frustrat\w*|annoy\w*|fed up|sick of|tired of|unacceptable|ridiculous|"
    r"(?:yet )?again|still (?:no|not|nothing|waiting|haven't|hasn't|broken)|"
    r"(?:second|third|fourth|fifth|several|multiple|many) times?|how many times|"
    r"keep (?:getting|having|asking|chasing)|nobody|no one has|no reply|no response|"
    r"waste of (?:my |our )?time|losing patience|had enough|every single time|"
    r"disappoint\w*|not good enough)\b",
    re.IGNORECASE,
)
# Function words left out of the learned words shown as an explanation.
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "the",
        "this",
        "that",
        "to",
        "us",
        "was",
        "we",
        "with",
        "you",
        "your",
    ]
)
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)

# The dense features a ToneModel reads besides the words, scaled so that they
# weigh about as much as a TF-IDF row.
_DENSE_SCALE = 0.5


@dataclass(frozen=True)
class AnalysisOptions:
    max_length: int = 5000
    positive_threshold: float = 0.1
    negative_threshold: float = -0.1


@dataclass(frozen=True)
class SentimentResult:
    polarity: float
    subjectivity: float
    tone: str
    #: The tone TextBlob and the cue words gave, before any learned model.
    base_tone: str
    #: What moved the result: TextBlob's assessments, cue words, learned words.
    explanation: tuple[dict[str, Any], ...] = ()
    #: Why a result is partial: empty text, truncated text; "" otherwise.
    reason: str = ""
    urgent_cues: int = 0
    frustrated_cues: int = 0
    #: Version of the workspace model blended in; None for TextBlob alone.
    model_version: int | None = None
    #: False when there were no words to analyse (empty, not text).
    analysed: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "polarity": self.polarity,
            "subjectivity": self.subjectivity,
            "tone": self.tone,
            "explanation": [dict(item) for item in self.explanation],
        }


def content_hash(text: str) -> str:
    """The key of incremental analysis: a change of text changes it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def interaction_text(subject: str | None, body: str | None) -> str:
    """The text analysed for an interaction: its subject and body."""
    parts = [p.strip() for p in (subject, body) if isinstance(p, str) and p.strip()]
    return "\n".join(parts)


def _neutral(reason: str) -> SentimentResult:
    return SentimentResult(
        polarity=0.0,
        subjectivity=0.0,
        tone="neutral",
        base_tone="neutral",
        reason=reason,
        analysed=False,
    )


def _pattern_sentiment():
    # The implementation behind TextBlob's PatternAnalyzer. Called directly so
    # that a text is scored once (PatternAnalyzer scores it twice to keep the
    # assessments) and no TextBlob object is built.
    # Lazy: textblob loads its lexicon on import; only analysis needs it.
    from textblob.en import sentiment

    return sentiment


def tone_for(
    *, polarity: float, urgent_cues: int, frustrated_cues: int, options: AnalysisOptions
) -> str:
    if urgent_cues and urgent_cues >= frustrated_cues:
        return "urgent"
    if frustrated_cues:
        return "frustrated"
    if polarity > options.positive_threshold:
        return "positive"
    if polarity < options.negative_threshold:
        return "negative"
    return "neutral"


def analyze_text(text: Any, options: AnalysisOptions | None = None) -> SentimentResult:
    """Analyse one text. Never raises for odd input: it says why in ``reason``."""
    options = options or AnalysisOptions()
    if not isinstance(text, str):
        return _neutral(f"Not text ({type(text).__name__}); nothing to analyse.")
    if not text.strip():
        return _neutral("Empty text; nothing to analyse.")
    reason = ""
    if len(text) > options.max_length:
        text = text[: options.max_length]
        reason = f"Only the first {options.max_length} characters were analysed."
    if not _LETTERS.search(text):
        return _neutral("No words to analyse.")
    score = _pattern_sentiment()(text)
    polarity, subjectivity = float(score[0]), float(score[1])
    explanation: list[dict[str, Any]] = [
        {
            "words": list(words),
            "polarity": round(float(p), 4),
            "subjectivity": round(float(s), 4),
            "source": "textblob",
        }
        for words, p, s, _ in score.assessments
        if p or s
    ]
    explanation.sort(key=lambda item: -abs(item["polarity"]))
    urgent = [m.group(0).lower() for m in URGENT_CUES.finditer(text)]
    frustrated = [m.group(0).lower() for m in FRUSTRATED_CUES.finditer(text)]
    for tone, words in (("urgent", urgent), ("frustrated", frustrated)):
        if words:
            explanation.append({"words": sorted(set(words)), "tone": tone, "source": "cue"})
    tone = tone_for(
        polarity=polarity,
        urgent_cues=len(urgent),
        frustrated_cues=len(frustrated),
        options=options,
    )
    return SentimentResult(
        polarity=round(polarity, 6),
        subjectivity=round(subjectivity, 6),
        tone=tone,
        base_tone=tone,
        explanation=tuple(explanation),
        reason=reason,
        urgent_cues=len(urgent),
        frustrated_cues=len(frustrated),
    )


def analyze_texts(
    texts: Iterable[Any], options: AnalysisOptions | None = None
) -> list[SentimentResult]:
    options = options or AnalysisOptions()
    return [analyze_text(text, options) for text in texts]


def _dense_row(result: SentimentResult) -> list[float]:
    return [
        result.polarity,
        result.subjectivity,
        *(1.0 if result.base_tone == tone else 0.0 for tone in TONES),
        min(result.urgent_cues, 3) / 3,
        min(result.frustrated_cues, 3) / 3,
    ]


@dataclass
class ToneModel:
    """A workspace's tone model: TF-IDF words plus TextBlob's own scores,
    through a logistic regression, blended with TextBlob's tone.

    ``blend_weight`` is the learned model's share; TextBlob's tone gets the rest.
    """

    blend_weight: float = 0.8
    vectorizer: Any = None
    classifier: Any = None
    classes: tuple[str, ...] = field(default_factory=tuple)
    #: Column -> word (or pair of words); "" for character n-grams.
    words: tuple[str, ...] = field(default_factory=tuple)

    def _features(self, texts: Sequence[str], bases: Sequence[SentimentResult], *, fit: bool):
        # Lazy: scipy is only needed once a tone model is trained or used.
        from scipy.sparse import csr_matrix, hstack

        words = self.vectorizer.fit_transform(texts) if fit else self.vectorizer.transform(texts)
        dense = np.array([_dense_row(b) for b in bases], dtype=float) * _DENSE_SCALE
        return hstack([words, csr_matrix(dense)]).tocsr(), words

    def fit(
        self, texts: Sequence[str], bases: Sequence[SentimentResult], labels: Sequence[str]
    ) -> ToneModel:
        # Lazy: scikit-learn takes about a second to import; only training needs it.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        if len(set(labels)) < 2:
            raise ValueError("A tone model needs corrections to at least two tones")
        # Words and pairs of words, plus character n-grams inside words so that
        # "delay", "delayed" and "delays" share evidence in a small training set.
        self.vectorizer = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
                ),
            ]
        )
        features, _ = self._features(texts, bases, fit=True)
        self.classifier = LogisticRegression(C=30.0, max_iter=3000, class_weight="balanced")
        self.classifier.fit(features, list(labels))
        self.classes = tuple(str(c) for c in self.classifier.classes_)
        self.words = tuple(
            name.removeprefix("words__")
            if name.startswith("words__")
            and not set(name.removeprefix("words__").split()) <= _FUNCTION_WORDS
            else ""
            for name in self.vectorizer.get_feature_names_out()
        )
        return self

    def _class_weights(self, index: int):
        coef = self.classifier.coef_
        if coef.shape[0] == 1:  # binary: one row, for the second class
            return coef[0] if index == 1 else -coef[0]
        return coef[index]

    def predict(
        self, texts: Sequence[str], bases: Sequence[SentimentResult], *, top_words: int = 5
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        """The blended tone of each text and the learned words behind it."""
        if not texts:
            return []
        features, words = self._features(texts, bases, fit=False)
        proba = self.classifier.predict_proba(features)
        n_words = words.shape[1]
        is_word = np.array([bool(w) for w in self.words])
        out: list[tuple[str, list[dict[str, Any]]]] = []
        for row, base in enumerate(bases):
            blended = {tone: (1 - self.blend_weight) * (tone == base.base_tone) for tone in TONES}
            for index, tone in enumerate(self.classes):
                blended[tone] = blended.get(tone, 0.0) + self.blend_weight * proba[row, index]
            tone = max(TONES, key=lambda t: (blended[t], t == base.base_tone))
            learned: list[dict[str, Any]] = []
            if tone in self.classes:
                weights = self._class_weights(self.classes.index(tone))[:n_words]
                start, end = words.indptr[row], words.indptr[row + 1]
                cols, values = words.indices[start:end], words.data[start:end]
                contributions = np.where(is_word[cols], values * weights[cols], 0.0)
                for k in np.argsort(-contributions)[:top_words]:
                    if contributions[k] > 0:
                        learned.append(
                            {
                                "words": self.words[cols[k]].split(),
                                "weight": round(float(contributions[k]), 4),
                                "tone": tone,
                                "source": "learned",
                            }
                        )
            out.append((tone, learned))
        return out


def apply_model(
    results: Sequence[SentimentResult],
    texts: Sequence[str],
    model: ToneModel | None,
    version: int | None,
    options: AnalysisOptions | None = None,
) -> list[SentimentResult]:
    """Blend a workspace model into TextBlob results (texts with words only)."""
    if model is None:
        return list(results)
    options = options or AnalysisOptions()
    indexes = [i for i, r in enumerate(results) if r.analysed]
    predictions = model.predict(
        [texts[i][: options.max_length] for i in indexes], [results[i] for i in indexes]
    )
    out = list(results)
    for i, (tone, learned) in zip(indexes, predictions, strict=True):
        out[i] = replace(
            results[i],
            tone=tone,
            explanation=(*results[i].explanation, *learned),
            model_version=version,
        )
    return out


def score(labels: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 over the five tones."""
    # Lazy: scikit-learn takes about a second to import; only evaluation needs it.
    from sklearn.metrics import accuracy_score, f1_score

    if not labels:
        return {"accuracy": 0.0, "macro_f1": 0.0, "n": 0}
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(
            float(
                f1_score(labels, predicted, labels=list(TONES), average="macro", zero_division=0)
            ),
            4,
        ),
        "n": len(labels),
    }
