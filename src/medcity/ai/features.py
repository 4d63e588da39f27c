"""Text preparation shared by training and inference, so that both see exactly the same strings.

Complaints are typed in a hurry: typos, glued words, abbreviations. Two views survive that noise: the lower-cased
surface text (for character n-grams, which tolerate typos) and the lemmatised words (for word n-grams, which merge
the many Russian inflections of one word).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

import numpy as np

MAX_CHARS = 10_000

_WORD = re.compile(r"[а-яa-z]+|\d+")
_CYRILLIC = re.compile(r"[а-я]")
_SPACES = re.compile(r"\s+")


def _keep(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc" or category[0] == "Z":
        return " "  # line breaks, tabs and odd spaces still separate words
    if category[0] == "C":
        return ""  # zero-width and private-use characters would otherwise split or glue words invisibly
    return ch


def clean(text: str) -> str:
    """Drop control and format characters (they carry no meaning and can break logs) and collapse whitespace."""
    if not text.isprintable():  # the per-character pass is only needed when there is something to drop
        text = "".join(_keep(ch) for ch in text)
    return _SPACES.sub(" ", text).strip()


def normalise(text: str) -> str:
    """Surface view: lower case, ё → е (writers use both spellings for the same word)."""
    return text.lower().replace("ё", "е")


def words(normalised: str) -> list[str]:
    return _WORD.findall(normalised)


@cache
def _analyzer() -> Any:
    # Loading the dictionaries takes ~0.3 s and ~15 MB: do it once, and only when a text is lemmatised.
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    if not _CYRILLIC.match(word):
        return word
    return str(_analyzer().parse(word)[0].normal_form).replace("ё", "е")


def lemmas(normalised: str) -> str:
    """Word view: the lemmas of the words, space-separated."""
    return " ".join(lemma(w) for w in words(normalised))


def cyrillic_share(normalised: str) -> float:
    """Share of letters that are Cyrillic: English text or Latin transliteration is outside what the model knows."""
    letters = [ch for ch in normalised if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if "а" <= ch <= "я") / len(letters)


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside space-padded words, exactly as scikit-learn's `analyzer="char_wb"` makes them
    (the vocabulary is fitted with scikit-learn; inference does without its per-call overhead)."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if n >= size:  # a word shorter than n gives itself once, and no longer n-grams
                grams.append(padded)
                break
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    """Word n-grams of a space-separated text, as scikit-learn's `analyzer="word"` with `token_pattern=r"\\S+"`."""
    tokens = text.split()
    return [" ".join(tokens[i : i + n]) for n in range(low, high + 1) for i in range(len(tokens) - n + 1)]


class Tfidf:
    """Sublinear TF-IDF with L2 normalisation over a fixed vocabulary, for one text at a time."""

    CACHE_WORDS = 100_000

    def __init__(self, analyzer: str, ngram_range: tuple[int, int], vocabulary: dict[str, int], idf: Any) -> None:
        self.analyzer = analyzer
        self.low, self.high = ngram_range
        self.vocabulary = vocabulary
        self.idf = idf
        self._word_columns: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.vocabulary)

    def columns(self, text: str) -> list[int]:
        """Vocabulary columns of the text's n-grams, one entry per occurrence."""
        if self.analyzer != "char_wb":
            grams = word_ngrams(text, self.low, self.high)
            return [c for g in grams if (c := self.vocabulary.get(g)) is not None]
        # Character n-grams never cross a word boundary, so a word always yields the same columns: cache them
        # (complaints reuse a small vocabulary, and this is most of the cost of a suggestion).
        found: list[int] = []
        for word in text.split():
            cached = self._word_columns.get(word)
            if cached is None:
                grams = char_wb_ngrams(word, self.low, self.high)
                cached = [c for g in grams if (c := self.vocabulary.get(g)) is not None]
                if len(self._word_columns) >= self.CACHE_WORDS:
                    self._word_columns.clear()
                self._word_columns[word] = cached
            found += cached
        return found

    def weights(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices (sorted) and weights of the text's known n-grams."""
        columns, counts = np.unique(np.array(self.columns(text), dtype=np.int32), return_counts=True)
        values = (1.0 + np.log(counts)) * self.idf[columns]
        norm = float(np.sqrt(values @ values)) or 1.0
        return columns, values / norm
