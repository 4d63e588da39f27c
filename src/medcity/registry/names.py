"""Person names for matching: one comparable form for Cyrillic and Latin spellings, and string similarity.

Russian names reach a register spelled in Cyrillic (with or without Ё) and in Latin, transliterated by one
of several systems (the passport's ICAO 9303 "Iuliia", GOST 7.79 "Yuliya", BGN/PCGN, or by ear: "Julia").
Rather than guessing the system, both sides are reduced to a *skeleton*: Latin letters with the sounds those
systems spell differently folded together (ya/ia/ja → a after i, kh/h → h, ts/tz/c → c, y/j/i → i, ...). Two
spellings of one name then differ by at most a letter or two, which the edit distance tolerates like any
typo.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Cyrillic → Latin, close to ICAO 9303 (Russian passports since 2014), the system a Latin duplicate most
# often uses.
_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie", "ы": "y",
    "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip

# Latin → Cyrillic, longest spellings first, to turn a Latin name back into a Cyrillic search prefix.
_TO_CYRILLIC = [
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("tz", "ц"), ("ch", "ч"),
    ("sh", "ш"), ("yu", "ю"), ("iu", "ю"), ("ju", "ю"), ("ya", "я"), ("ia", "я"), ("ja", "я"),
    ("yo", "ё"), ("ye", "е"), ("iy", "ий"), ("yi", "ый"),
    ("a", "а"), ("b", "б"), ("v", "в"), ("w", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"),
    ("i", "и"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
    ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "ц"), ("y", "ы"),
    ("x", "кс"), ("q", "к"),
]  # fmt: skip

# Sound folds applied to the Latin form, in order: spellings of one sound that transliteration systems
# disagree on.
_SKELETON_FOLDS = [
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"shch|sch", "s"), (r"kh", "h"), (r"tz|ts", "c"), (r"zh", "j"), (r"ch", "q"), (r"sh", "s"),
        (r"ks", "x"), (r"ie", "e"), (r"[yj]", "i"), (r"i+", "i"), (r"(?<=[a-z])i(?=[aeou])", ""),
        (r"w", "v"), (r"(.)\1+", r"\1"),
    )
]  # fmt: skip
_LETTERS = re.compile(r"[^a-zа-яё]+")


def clean(value: str) -> str:
    """Lower case, ё → е, letters only (hyphens, spaces and dots dropped)."""
    return _LETTERS.sub("", value.casefold()).replace("ё", "е")


def is_cyrillic(value: str) -> bool:
    return any("а" <= ch <= "я" or ch == "ё" for ch in value.casefold())


def to_latin(value: str) -> str:
    """ICAO-style transliteration of a Cyrillic name (Latin input is returned as it is, in lower case)."""
    return "".join(_TO_LATIN.get(ch, ch) for ch in value.casefold())


def to_cyrillic(value: str) -> str:
    """A plausible Cyrillic spelling of a Latin name (good enough for a search prefix, not for display)."""
    text, out, i = value.casefold(), [], 0
    while i < len(text):
        for latin, cyr in _TO_CYRILLIC:
            if text.startswith(latin, i):
                out.append(cyr)
                i += len(latin)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@lru_cache(maxsize=65536)
def skeleton(value: str) -> str:
    """The comparable form of a name in either script (see the module docstring)."""
    text = clean(value)
    text = to_latin(text) if is_cyrillic(text) else text
    for pattern, repl in _SKELETON_FOLDS:
        text = pattern.sub(repl, text)
    return text


def spellings(value: str) -> list[str]:
    """The Cyrillic and the Latin spelling of a name, for blocking searches in both scripts."""
    text = clean(value)
    if not text:
        return []
    other = to_latin(text) if is_cyrillic(text) else to_cyrillic(text)
    return [text] if other == text else [text, other]


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent transpositions."""
    if a == b:
        return 0
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def similarity(a: str, b: str) -> float:
    """1.0 for the same name in any script; falls by edit distance over the length of the longer skeleton."""
    sa, sb = skeleton(a), skeleton(b)
    if not sa or not sb:
        return 0.0
    return 1.0 - edit_distance(sa, sb) / max(len(sa), len(sb))
