"""Autocompletion over ICD-10: what a doctor types (a code, Russian or English words, prefixes, typos) to a
ranked list of concepts.

Matching. Every concept's names (both languages) are cut into words; each word is indexed under itself, its
dictionary forms (pymorphy3 lemmas for Russian, a plural rule for English) and colloquial synonyms
(`_WORD_ALIASES`, e.g. «гипертония» for «гипертензия», which the classification never says). A subcategory is
also indexed, at a lower rank, under its rubric's words and a rubric under its block's, so that «диабет 2
типа» reaches E11.9 «Инсулиннезависимый сахарный диабет без осложнений». A typed word matches a key it is a
prefix of (the user is mid-word), or whose lemma is its lemma (inflection: «диабетом»); words are AND-ed.

Ranking, most significant first: the exact code; codes that start with the typed code; then concepts whose own
names hold every word, before those that needed the parent's words, before chapters and blocks (they only group
what can be coded); within each, common diagnoses (`_COMMON`, primary-care frequency) first, then names that
begin with the first word, then rubrics before subcategories, shorter names, and the printed order. Each tier
is a set computed with set algebra and only the slice asked for is sorted, which keeps a request around a
millisecond.

Forgiveness: a word that matches nothing is retried with one typo allowed (edit distance 1, a transposition
counts as one); a word that still matches nothing («внебольничная») is dropped rather than emptying the list;
when nothing matches at all, the words are read as typed in the other keyboard layout ("fcnvf" is «астма»).
"""

from __future__ import annotations

import bisect
import heapq
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from medcity.terminology.catalogue import BLOCK, CATEGORY, CHAPTER, SUBCATEGORY, Catalogue, Concept

MAX_QUERY = 200
_MAX_WORDS = 8

_WORD = re.compile(r"[0-9a-zа-я]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A code or a code prefix as typed: "J", "j45", "J45.", "J45.0", "J450" (no dot), "S02.00", "I10-I15".
_CODE_LIKE = re.compile(r"[A-Z](\d{1,2}(\.\d{0,2})?|\d{3,4})?|[A-Z]\d\d-[A-Z]\d\d")
_ROMAN = re.compile(r"[IVXL]{1,5}")

# Cyrillic letters that look like Latin ones: doctors type "Е11" or "К29.5" on the Russian layout on purpose.
_LOOKALIKE = str.maketrans("АВЕКМНОРСТУХавекмнорстух", "ABEKMHOPCTYXabekmhopctyx")
# The same physical key on ЙЦУКЕН and QWERTY: "Ш10" is "I10" typed without switching the layout.
_RU_KEYS = "йцукенгшщзхъфывапролджэячсмитьбю"
_EN_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,."
_RU_TO_EN_KEYS = str.maketrans(_RU_KEYS + _RU_KEYS.upper(), _EN_KEYS + _EN_KEYS.upper())
_EN_TO_RU_KEYS = str.maketrans(_EN_KEYS + _EN_KEYS.upper(), _RU_KEYS + _RU_KEYS.upper())

# Words so common in the names that, when not the word being typed, they only slow matching down.
# fmt: off
_STOP_WORDS = frozenset((
    "в", "во", "и", "или", "на", "с", "со", "без", "при", "по", "от", "до", "для", "из", "к", "не", "как",
    "другой", "другие", "другая", "других", "уточненный", "уточненная", "of", "the", "and", "or", "with",
    "without", "in", "on", "due", "to", "by", "for", "other", "specified"
))
# fmt: on

# Colloquial words that the classification never uses, indexed on every concept with the listed (lemmatised)
# word so that a doctor's word finds it.
_WORD_ALIASES: dict[str, tuple[str, ...]] = {
    "гипертония": ("гипертензия", "гипертензивный"),
    "гипертонический": ("гипертензия", "гипертензивный"),
    "гипотония": ("гипотензия",),
    "рак": ("злокачественный",),
    "опухоль": ("новообразование",),
    "онкология": ("злокачественный",),
    "ковид": ("covid",),
    "коронавирус": ("covid",),
    "инсульт": ("инсульт",),
    "flu": ("influenza",),
    "cancer": ("malignant",),
    "tumour": ("neoplasm",),
    "tumor": ("neoplasm",),
}
# Abbreviations and everyday names of particular diagnoses; a code's subtree gets the alias too.
_CODE_ALIASES: dict[str, tuple[str, ...]] = {
    "ибс": ("I20-I25",),
    "орви": ("J06.9", "J00"),
    "орз": ("J06.9",),
    "простуда": ("J00", "J06.9"),
    "хобл": ("J44",),
    "онмк": ("I60", "I61", "I63", "I64", "G45"),
    "тиа": ("G45",),
    "инсульт": ("I60", "I61", "I63"),
    "хсн": ("I50",),
    "фп": ("I48",),
    "мерцательная": ("I48",),
    "аритмия": ("I47", "I48", "I49"),
    "жкб": ("K80",),
    "гэрб": ("K21",),
    "язва": ("K25", "K26", "K27"),
    "сд": ("E10", "E11", "E13", "E14"),
    "хбп": ("N18",),
    "аг": ("I10", "I11", "I12", "I13", "I15"),
    "артериальная": ("I10", "I11", "I12", "I13", "I15"),
    "давление": ("I10", "I11", "I15"),
    "ангина": ("J03",),
    "ангина пекториса": ("I20",),
    "диспансеризация": ("Z00.0",),
    "профосмотр": ("Z00.0",),
    "грыжа": ("M51.2",),
    "остеохондроз": ("M42",),
    "copd": ("J44",),
    "uti": ("N39.0",),
    "stroke": ("I63", "I64"),
    "heart attack": ("I21",),
    "high blood pressure": ("I10",),
}
# The diagnoses a city's polyclinics and hospitals code most often (tier 0); their parents and children form
# tier 1. Without this a plain alphabetical or structural order puts rare conditions first.
# fmt: off
_COMMON = (
    "I10", "I11", "I11.9", "I20.8", "I20.9", "I21", "I21.9", "I25", "I25.1", "I25.9", "I48", "I50", "I50.0",
    "I50.9", "I63", "I63.9", "I64", "I67", "I67.8", "I69.3", "E03.9", "E04.1", "E05.0", "E06.3", "E10",
    "E10.9", "E11", "E11.9", "E28.2", "E55.9", "E66", "E66.0", "E78", "E78.0", "J00", "J01.9", "J02.9",
    "J03.9", "J04.1", "J06", "J06.9", "J10", "J11", "J11.1", "J12.8", "J15", "J18", "J18.9", "J20", "J20.9",
    "J30", "J30.1", "J31.0", "J32.9", "J44", "J44.9", "J45", "J45.0", "J45.9", "K21", "K21.0", "K25", "K29",
    "K29.3", "K29.5", "K29.7", "K30", "K52.9", "K58", "K59.0", "K64", "K76.0", "K80", "K80.2", "K81.1",
    "K86.1", "N10", "N11", "N18", "N18.9", "N20", "N20.0", "N30", "N30.0", "N39.0", "N40", "N60.1", "N76.0",
    "N80", "N83.2", "N91", "N95.1", "N97", "M10", "M16", "M17", "M17.0", "M19", "M42", "M42.1", "M47",
    "M47.8", "M51", "M51.2", "M53.1", "M54", "M54.2", "M54.4", "M54.5", "M79.1", "M81", "M81.0", "G40",
    "G43", "G43.9", "G44.2", "G45", "G45.9", "G47.0", "G90.8", "G93.4", "F32", "F32.9", "F41.1", "F41.2",
    "F43.2", "F10.2", "H10", "H10.9", "H25", "H40", "H40.1", "H52.1", "H66", "H66.9", "H65.9", "L20",
    "L20.8", "L23", "L23.9", "L30.9", "L50", "L50.0", "A09", "A08.4", "B01", "B01.9", "B02", "B02.9", "B34",
    "B34.9", "B35", "B86", "D50", "D50.9", "D64.9", "D25", "D25.9", "C34", "C50", "C61", "C18", "O80",
    "O21", "Z00.0", "Z01.4", "Z23", "Z34", "Z34.0", "Z30.0", "R05", "R10.4", "R42", "R50.9", "R51", "S06.0",
    "S52.5", "S82.6", "S93.4", "T14.0", "T78.4", "U07.1", "U07.2", "I83.9"
)
# fmt: on


def fold(text: str) -> str:
    """Text to compare regardless of case and form: NFKC, lower case, «ё» as «е», controls as spaces."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFKC", text).lower().replace("ё", "е"))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@cache
def _morph() -> Any:
    import pymorphy3  # deferred: its dictionaries take ~150 ms to open and only searches need them

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=16384)
def lemmas_ru(word: str) -> tuple[str, ...]:
    """Dictionary forms of a Russian word: every known reading's, or the best guess of a noun or adjective
    for a word pymorphy3 does not know (guessing other parts of speech turns «инсулиннезависимый» into a
    verb)."""
    parses = _morph().parse(word)
    known = [p.normal_form for p in parses if p.is_known and p.score >= 0.1]
    if known:
        return tuple(dict.fromkeys(known))[:2]
    best = parses[0] if parses else None
    if best is not None and best.tag.POS in ("NOUN", "ADJF") and best.score >= 0.5:
        return (best.normal_form.replace("ё", "е"),)
    return ()


def lemma_en(word: str) -> str:
    """Singular of a regular English plural (enough for «diseases», «injuries», «fractures»)."""
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _is_cyrillic(word: str) -> bool:
    return not word.isascii()


def _within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of `a` and `b` is at most 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1 :] == b[i + 1 :] or (a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1])
    return a[i:] == b[i + 1 :] if la < lb else a[i + 1 :] == b[i:]


def _deletes(text: str) -> Iterator[str]:
    yield text
    for i in range(len(text)):
        yield text[:i] + text[i + 1 :]


_FUZZY_PREFIX = 6  # typo lookup compares the first 6 letters; the rest is checked pair by pair


class _KeysOf:
    """The index keys of a name word: itself, its dictionary forms and its colloquial synonyms (memoised: the
    names repeat a few thousand distinct words two hundred thousand times)."""

    def __init__(self, lemmas: dict[str, list[str]]) -> None:
        self._lemmas = lemmas
        self._memo: dict[str, frozenset[str]] = {}
        self._aliases: dict[str, list[str]] = {}
        for alias, targets in _WORD_ALIASES.items():
            for target in targets:
                self._aliases.setdefault(target, []).append(alias)

    def __call__(self, word: str) -> frozenset[str]:
        keys = self._memo.get(word)
        if keys is None:
            forms = {word, *self._lemmas.get(word, ())} if _is_cyrillic(word) else {word, lemma_en(word)}
            keys = frozenset(forms.union(*(self._aliases.get(f, ()) for f in forms)))
            self._memo[word] = keys
        return keys


@dataclass(frozen=True, slots=True)
class _WordHits:
    direct: frozenset[int]  # the concept's own names (or aliases) match
    inherited: frozenset[int]  # only its parent's do
    first: frozenset[int]  # its name begins with a matching word


_EMPTY = _WordHits(frozenset(), frozenset(), frozenset())


class SearchIndex:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        concepts = catalogue.concepts
        # Postings are gathered per distinct word first and only then spread to keys: the names hold 200,000
        # words but only 14,000 distinct ones.
        own_words: list[set[str]] = []
        first_docs: defaultdict[str, list[int]] = defaultdict(list)
        for c in concepts:
            ru, en = words(c.name_ru), words(c.name_en or "")
            own_words.append({*ru, *en})
            first_docs[ru[0]].append(c.index)
            if en and en[0] != ru[0]:
                first_docs[en[0]].append(c.index)
        for alias, codes in _CODE_ALIASES.items():
            for code in codes:
                for idx in self._subtree(catalogue.by_code[code].index):
                    own_words[idx].update(words(alias))
        word_docs: defaultdict[str, list[int]] = defaultdict(list)
        for i, mine in enumerate(own_words):
            for w in mine:
                word_docs[w].append(i)
        keys_of = _KeysOf(catalogue.lemmas)
        key_words: defaultdict[str, list[str]] = defaultdict(list)
        for w in word_docs:
            for k in keys_of(w):
                key_words[k].append(w)
        self._direct: dict[str, frozenset[int]] = {}
        self._first: dict[str, frozenset[int]] = {}
        for k, ws in key_words.items():
            if len(ws) == 1:
                self._direct[k] = frozenset(word_docs[ws[0]])
                self._first[k] = frozenset(first_docs.get(ws[0], ()))
            else:
                self._direct[k] = frozenset().union(*(word_docs[w] for w in ws))
                self._first[k] = frozenset().union(*(first_docs.get(w, ()) for w in ws))
        # A subcategory is also found by its rubric's words, a rubric by its block's (chapters are too broad):
        # a word's hits bring in these heirs of the concepts it names.
        self._heirs = {
            c.index: frozenset(i for i in catalogue.children[c.index] if concepts[i].kind >= CATEGORY)
            for c in concepts
            if c.kind in (BLOCK, CATEGORY) and catalogue.children[c.index]
        }
        self._keys = sorted(key_words)
        self._codes = sorted(catalogue.by_code)
        self._rank = [self._static_rank(c) for c in concepts]
        self._popular = self._popularity_tiers()
        self._fuzzy: dict[str, list[str]] | None = None
        self._all = frozenset(c.index for c in concepts)
        self._active = frozenset(c.index for c in concepts if c.active)
        self._selectable = frozenset(c.index for c in concepts if c.selectable)

    # -- building -------------------------------------------------------------------------------------------

    def _subtree(self, index: int) -> Iterator[int]:
        stack = [index]
        while stack:
            i = stack.pop()
            yield i
            stack.extend(self.catalogue.children[i])

    @staticmethod
    def _static_rank(c: Concept) -> int:
        kind_order = {CATEGORY: 0, SUBCATEGORY: 1, BLOCK: 2, CHAPTER: 3}[c.kind]
        length = min(len(c.name_ru.split()), 99)
        return ((kind_order * 2 + (0 if c.active else 1)) * 100 + length) * 100_000 + c.index

    def _popularity_tiers(self) -> tuple[frozenset[int], frozenset[int]]:
        by_code = self.catalogue.by_code
        tier0 = {by_code[code].index for code in _COMMON}
        tier1: set[int] = set()
        for i in tier0:
            c = self.catalogue.concepts[i]
            if c.kind == SUBCATEGORY:
                tier1.add(c.parent)
            elif c.kind == CATEGORY:
                tier1.update(self.catalogue.children[i])
        return frozenset(tier0), frozenset(tier1 - tier0)

    def typo_table(self) -> dict[str, list[str]]:
        # Built on the first typo (~0.2 s): every key prefix with up to one letter deleted -> the keys.
        if self._fuzzy is None:
            table: dict[str, list[str]] = {}
            for key in self._keys:
                if len(key) >= 3:
                    for d in set(_deletes(key[:_FUZZY_PREFIX])):
                        table.setdefault(d, []).append(key)
            self._fuzzy = table
        return self._fuzzy

    # -- matching -------------------------------------------------------------------------------------------

    def _prefix_keys(self, prefix: str) -> list[str]:
        lo = bisect.bisect_left(self._keys, prefix)
        hi = bisect.bisect_left(self._keys, prefix + "\uffff")
        return self._keys[lo:hi]

    def _typo_keys(self, word: str) -> list[str]:
        """Keys one edit away from `word`, as whole words if any are («бронхт» is «бронхит», not «бронхо...»),
        else keys with a prefix one edit away (a typo in a word still being typed: «пневмани»)."""
        table = self.typo_table()
        candidates: set[str] = set()
        for d in set(_deletes(word[:_FUZZY_PREFIX])):
            candidates.update(table.get(d, ()))
        whole = [key for key in candidates if _within_one_edit(word, key)]
        if whole:
            return whole
        n = len(word)
        return [
            key
            for key in candidates
            if any(_within_one_edit(word, key[:m]) for m in (n - 1, n, n + 1) if m <= len(key))
        ]

    @lru_cache(maxsize=4096)  # noqa: B019 - one index per process, kept for its lifetime anyway
    def word_hits(self, word: str, fuzzy: bool) -> _WordHits:
        if word.isdigit():
            keys = [word] if word in self._direct else []
        elif fuzzy:
            keys = self._typo_keys(word) if len(word) >= 4 else []
        else:
            # The word as a prefix (still being typed), or its dictionary form as a whole word (inflected:
            # «диабетом» is «диабет»); a lemma as a prefix would turn «со» into «с...», half the vocabulary.
            lemmas = lemmas_ru(word) if _is_cyrillic(word) else (lemma_en(word),)
            keys = self._prefix_keys(word) + [
                k for k in lemmas if k != word and k in self._direct and k not in _STOP_WORDS
            ]
        if not keys:
            return _EMPTY
        direct = frozenset().union(*(self._direct[k] for k in keys))
        first = frozenset().union(*(self._first[k] for k in keys))
        heirs = self._heirs
        inherited = frozenset().union(*(heirs[i] for i in direct if i in heirs))
        return _WordHits(direct, inherited - direct, first)

    # -- the search ------------------------------------------------------------------------------------------

    def search(self, query: str, *, active_only: bool = True) -> tuple[int, Iterator[int]]:
        """(total, concept indexes best first) for what was typed; the order is produced lazily."""
        allowed = self._active if active_only else self._all
        code_hits, text_words, code_filters = self._parse(fold(query)[:MAX_QUERY])
        tiers: list[list[int] | _LazySorted] = [[i for i in hits if i in allowed] for hits in code_hits]
        if text_words:
            taken = frozenset(i for hits in code_hits for i in hits)
            text_tiers = self._text_tiers(text_words, code_filters, allowed - taken)
            if not any(text_tiers):
                text_tiers = self._text_tiers(self._other_layout(text_words), code_filters, allowed - taken)
            tiers.extend(text_tiers)
        total = sum(len(t) for t in tiers)
        return total, (i for tier in tiers for i in tier)

    def _parse(self, text: str) -> tuple[list[list[int]], list[str], list[str]]:
        """Split what was typed into code hits (exact, then by prefix), words to match, and code prefixes that
        narrow the words' hits ("E11 кома")."""
        tokens = text.split()[:_MAX_WORDS]
        if len(tokens) == 1:
            token = tokens[0]
            has_digit = any(ch.isdigit() for ch in token)
            # A Cyrillic letter alone is the start of a Russian word; with digits it is a code typed on the
            # Russian layout. Latin letters alone ("i", "ix") may be a code and an English word at once.
            code = self.code_reading(token) if has_digit or token.isascii() else None
            if code is not None:
                hits = list(self._code_hits(code))
                return hits, [] if has_digit else words(token), []
        text_words: list[str] = []
        filters: list[str] = []
        for token in tokens:
            code = self.code_reading(token) if any(ch.isdigit() for ch in token) else None
            if code is not None and not token.isdigit():
                filters.append(code)
            else:
                text_words.extend(words(token))
        if len(text_words) > 1:
            # A stop word that is not being typed any more narrows nothing down.
            kept = [w for w in text_words[:-1] if w not in _STOP_WORDS] + text_words[-1:]
            text_words = kept
        return [], text_words, filters

    def code_reading(self, token: str) -> str | None:
        """The code `token` stands for: as typed, with Cyrillic look-alikes read as Latin, or as typed on the
        Russian layout; the first reading that some code starts with (else the first that looks like one)."""
        raw = token.replace(",", ".").upper()
        readings = []
        for candidate in (raw, raw.translate(_LOOKALIKE), raw.translate(_RU_TO_EN_KEYS).upper()):
            if _CODE_LIKE.fullmatch(candidate):
                if len(candidate) >= 4 and candidate[3].isdigit():
                    candidate = f"{candidate[:3]}.{candidate[3:]}"  # "J450" -> "J45.0"
                readings.append(candidate)
            elif _ROMAN.fullmatch(candidate) and candidate in self.catalogue.by_code:
                readings.append(candidate)
        return next((r for r in readings if self._code_range(r)), readings[0] if readings else None)

    def _code_range(self, prefix: str) -> list[str]:
        prefix = prefix.rstrip(".")
        lo = bisect.bisect_left(self._codes, prefix)
        hi = bisect.bisect_left(self._codes, prefix + "\uffff")
        return self._codes[lo:hi]

    def _code_hits(self, code: str) -> tuple[list[int], list[int]]:
        by_code = self.catalogue.by_code
        exact = [by_code[code].index] if code in by_code else []
        matches = [by_code[c] for c in self._code_range(code) if c != code]
        matches.sort(key=lambda c: (not c.selectable, c.index))
        return exact, [c.index for c in matches]

    def _text_tiers(self, text_words: list[str], code_filters: list[str], allowed: frozenset[int]) -> list[_LazySorted]:
        if not text_words:
            return []
        hits: list[_WordHits] = []
        for word in text_words:
            h = self.word_hits(word, False)
            if not h.direct and not h.inherited:
                h = self.word_hits(word, True)
            # A word that matches nothing even with a typo allowed («внебольничная») is a qualifier the
            # classification does not use: the others still narrow the list down.
            if h.direct or h.inherited:
                hits.append(h)
        if not hits:
            return []
        own = frozenset.intersection(*(h.direct for h in hits)) & allowed
        anyhow = (frozenset.intersection(*(h.direct | h.inherited for h in hits)) & allowed) - own
        if code_filters:
            codes = self.catalogue.concepts
            own = frozenset(i for i in own if any(codes[i].code.startswith(f) for f in code_filters))
            anyhow = frozenset(i for i in anyhow if any(codes[i].code.startswith(f) for f in code_filters))
        first = hits[0].first
        tier0, tier1 = self._popular
        rank = self._rank.__getitem__
        out: list[_LazySorted] = []
        # Chapters and blocks only group diagnoses: they follow every code that can be chosen.
        groups = (own & self._selectable, anyhow & self._selectable, (own | anyhow) - self._selectable)
        for group in groups:
            rest = group - tier0 - tier1
            for part in (group & tier0, group & tier1, rest & first, rest - first):
                out.append(_LazySorted(part, rank))
        return out

    @staticmethod
    def _other_layout(text_words: list[str]) -> list[str]:
        """The words as they would read had the keyboard been in the other layout ("fcnvf" -> «астма»)."""
        out = []
        for word in text_words:
            table = _EN_TO_RU_KEYS if word.isascii() else _RU_TO_EN_KEYS
            out.extend(words(word.translate(table)))
        return out


class _LazySorted:
    """A tier's members in rank order, sorting only as far as is read: a broad prefix ("б") can match
    thousands of concepts of which a page shows twenty."""

    def __init__(self, members: frozenset[int], rank: Any) -> None:
        self._members = members
        self._rank = rank

    def __len__(self) -> int:
        return len(self._members)

    def __bool__(self) -> bool:
        return bool(self._members)

    def __iter__(self) -> Iterator[int]:
        if len(self._members) <= 64:
            yield from sorted(self._members, key=self._rank)
            return
        taken = 0
        limit = 64
        while taken < len(self._members):
            chunk = heapq.nsmallest(limit, self._members, key=self._rank)
            yield from chunk[taken:]
            taken = len(chunk)
            limit *= 8


def warm(index: SearchIndex) -> None:
    """Do the lazy work of a first search now: open pymorphy3's dictionaries and build the typo table."""
    _morph()
    index.typo_table()
