"""Candidate named entities: capitalised names the watchlist does not know.

Names worth watching usually show up first as capitalised words the team
has not listed yet, so these are collected and counted as suggestions. No
model is involved: English capitalisation is a strong enough signal when the
usual false friends are removed, and a regular expression over the whole
text is fast enough for every article.

The rules, and why:

* A name is a run of capitalised words on one line, separated only by
  spaces ("Mark Rutte"), possibly joined by lowercase connectors
  ("Bank of England", "Ursula von der Leyen", "Bashar al-Assad"), and
  possibly ending in a number ("Nord Stream 2", "Article 5"). Runs end at
  punctuation and line breaks, because a name never spans them.
* Common words ("The", "But", "In"), titles ("President", "Minister",
  "Mr") and calendar words split runs and are never names themselves, so
  "German Chancellor Olaf Scholz" yields "Olaf Scholz".
* The first word of a sentence is capitalised anyway. Alone, it counts only
  if the same word is capitalised mid-sentence somewhere else in the text
  ("Putin said ..." when "... told Putin" occurs too) or is an acronym. As
  the start of a longer name it is dropped if the text also uses it as a
  lowercase word ("Neither Putin ..." next to "neither").
* Title-case lines (headlines such as "London Warns Moscow As U.S. Sends
  Troops") say nothing about which words are names, so every word there is
  treated like a sentence-initial single word.
* A possessive "'s" is not part of the name; spans exclude it.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache

from wirewatch.extract.terms import Watchlist, find_mentions
from wirewatch.models import Mention

__all__ = ["candidate_terms", "find_entities"]


def _words(listing: str) -> frozenset[str]:
    """The whitespace-separated words of ``listing``, as a set."""
    return frozenset(listing.split())


_STOPWORDS = _words(
    """
    A About Above According Across After Afterwards Again Against Ahead All Almost Along Already
    Also Although Always Am Among Amid An And Another Any Anyone Anything Anyway Are Around As
    Asked At Back Be Because Been Before Being Below Beside Besides Between Beyond Both But By
    Can Cannot Could Despite Did Do Does Doing Done During Each Earlier Either Else Even Ever
    Every Everyone Everything Except Few Finally First Following For From Further Furthermore
    Had Has Have Having He Hello Her Here Hers Herself Him Himself His How However I If In
    Including Indeed Inside Instead Into Is It Its Itself Just Last Later Less Let Lets Like
    Many Maybe Me Meanwhile Might Mine More Moreover Most Much Must My Myself Near Nearly Neither
    Never Nevertheless Next No Nobody None Nonetheless Nor Not Nothing Now Of Off Often Oh OK
    Okay On Once One Only Onto Or Other Others Otherwise Our Ours Ourselves Out Outside Over
    Overall Perhaps Please Plus Rather Really Regardless Second Several Shall She Should Since
    So Some Somebody Someone Something Sometimes Soon Speaking Still Such Than Thank Thanks That
    The Their Theirs Them Themselves Then There Thereafter Therefore These They Third This
    Those Though Through Throughout Thus To Today Together Tomorrow Tonight Too Toward Towards
    Under Unless Unlike Until Up Upon Us Very Via Was We Well Were What Whatever When Whenever
    Where Whereas Wherever Whether Which While Who Whoever Whole Whom Whose Why With Within
    Without Would Yes Yesterday Yet You Your Yours Yourself
    """
)

# Contractions ("I'm", "Don't", "We're") are common words too.
_CONTRACTION = re.compile(r"(?:[nN]['’][tT]|['’](?:re|ve|ll|m|d|RE|VE|LL|M|D))\Z")

# Words that introduce a name rather than belong to it.
_TITLES = _words(
    """
    Adm Admiral Adviser Advisor Ambassador Archbishop Assistant Attorney Baron Baroness Bishop
    Capt Captain Cardinal Chair Chairman Chairperson Chairwoman Chancellor Chief Cmdr Col Colonel
    Commander Commissioner Congressman Congresswoman Dame Deputy Director Dr Duchess Duke
    Emperor Empress Envoy Gen Governor Inspector Judge King Lady Leader Lieutenant Lord Lt Maj
    Marshal Mayor Minister Miss Mr Mrs Ms Mx Officer Pope Premier President President-elect
    Prime Prince Princess Prof Professor Queen Rep Representative Rev Reverend Secretary
    Secretary-General Sen Senator Sergeant Sgt Sir Speaker Spokesman Spokesperson Spokeswoman
    Superintendent Vice
    """
)

# Words that complete a title ("Foreign Minister", "Secretary of State"):
# dropped next to a title, kept elsewhere ("State Department").
_ROLE_WORDS = _words(
    """
    Affairs Agriculture Commerce Culture Defence Defense Economic Economy Education Energy
    Environment Finance Foreign Health Home Interior Justice National Security Staff State
    Trade Transport Treasury
    """
)

_CALENDAR = _words(
    """
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mon Tue Tues Wed Thu Thur Thurs
    Fri Sat Sun January February March April May June July August September October November
    December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
    """
)

# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = _words(
    """
    Mr Mrs Ms Mx Dr Prof St Mt Gen Sen Rep Gov Lt Col Maj Capt Sgt Cmdr Adm Rev Hon Jr Sr Inc
    Co Corp Ltd Bros No vs etc Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
    """
)

# Lowercase words that may join the parts of a name ("Bank of England").
_CONNECTORS = _words("of de del della der den des du da das di dos la le van von bin ibn al el")
# The same, written with a hyphen ("Bashar al-Assad").
_GLUED_CONNECTORS = _words("al el bin ibn ben")
_SMALL_TITLE_WORDS = (
    "a|an|and|as|at|but|by|for|from|in|into|nor|of|on|or|over|the|to|up|vs|via|with"
)

# Characters skipped when looking back for the end of the previous sentence.
_SKIP_BACK = frozenset(" \t\n\r\f\v\u00a0\u2009\u202f\"'“”‘’„‚«»‹›()[]{}-–—―•·*")
_SENTENCE_ENDS = frozenset(".!?…")


@dataclass(frozen=True, slots=True)
class _Patterns:
    run: re.Pattern[str]
    token: re.Pattern[str]
    lowercase_word: re.Pattern[str]
    any_word: re.Pattern[str]
    title_breaker: re.Pattern[str]


def _class_of(codepoints: list[int]) -> str:
    """A regular-expression character class listing ``codepoints`` as ranges."""
    ranges: list[str] = []
    start = prev = codepoints[0]
    for cp in [*codepoints[1:], -2]:
        if cp == prev + 1:
            prev = cp
            continue
        ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
        start = prev = cp
    return "[" + "".join(ranges) + "]"


@cache
def _patterns() -> _Patterns:
    """Compile the patterns once, on first use.

    Python's ``re`` has no "uppercase letter" class, so one is built from
    the Unicode database; that takes a noticeable fraction of a second,
    which is why it is not done at import.
    """
    upper = _class_of([cp for cp in range(0x110000) if chr(cp).isupper() or chr(cp).istitle()])
    letter = r"[^\W_]"
    apostrophe = rf"['’](?![sS](?!{letter})){letter}"
    hyphen = rf"-(?=(?:{upper}|\d))"
    word = rf"(?<!{letter})(?:(?:{upper}\.)+|{upper}(?:{letter}|{apostrophe}|{hyphen})*)"
    space = r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+"
    connector = "(?:" + "|".join(sorted(_CONNECTORS, key=lambda w: (-len(w), w))) + ")"
    glued = "(?:" + "|".join(sorted(_GLUED_CONNECTORS)) + ")-"
    number = r"\d+(?:[.,]\d+)*(?![\w%])"
    join = rf"{space}(?:(?:{connector}{space}){{1,2}}|{glued})?"
    run = rf"(?P<first>{word})(?:{join}{word})*(?:{space}{number})?"
    token = rf"(?P<word>{word})|(?P<conn>{connector}(?={space})|{glued})|(?P<num>{number})"
    return _Patterns(
        run=re.compile(run),
        token=re.compile(token),
        lowercase_word=re.compile(rf"(?<!{letter})(?!{upper})[^\W\d_]{letter}*"),
        any_word=re.compile(rf"[^\W\d_]{letter}*"),
        title_breaker=re.compile(
            rf"(?<!{letter})(?!(?:{_SMALL_TITLE_WORDS})\b)(?!{upper})[^\W\d_]"
        ),
    )


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "conn" or "num"
    start: int
    end: int
    text: str


def _starts_sentence(text: str, pos: int) -> bool:
    """Whether the word at ``pos`` is the first of its sentence or line.

    Looks back past spaces, quotes, brackets and dashes: a line break or
    the start of the text means yes; a full stop means yes unless it ends
    an abbreviation or an initial ("Mr.", "U.S.", "George W.").
    """
    i = pos - 1
    while i >= 0 and text[i] in _SKIP_BACK:
        if text[i] == "\n":
            return True
        i -= 1
    if i < 0:
        return True
    ch = text[i]
    if ch not in _SENTENCE_ENDS:
        return False
    if ch != ".":
        return True
    j = i
    while j > 0 and text[j - 1].isalpha():
        j -= 1
    before = text[j:i]
    return not (before in _ABBREVIATIONS or (len(before) == 1 and before.isupper()))


def _title_lines(text: str, patterns: _Patterns) -> list[tuple[int, int]]:
    """Spans of lines written in title case (headlines), in order.

    A line is title case when it has at least three words and every word
    that is not capitalised is a small word ("and", "of", "to").
    """
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        if (
            patterns.title_breaker.search(text, start, end) is None
            and len(patterns.any_word.findall(text, start, end)) >= 3
        ):
            spans.append((start, end))
        start = end + 1
    return spans


def _in_spans(pos: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``pos`` lies in one of the sorted, disjoint ``spans``."""
    if not spans:
        return False
    k = bisect_right(spans, (pos, sys.maxsize)) - 1
    return k >= 0 and pos < spans[k][1]


def _is_common(word: str) -> bool:
    """Whether ``word`` is a common English word, never a name by itself."""
    if word in _STOPWORDS:
        return True
    return ("'" in word or "’" in word) and _CONTRACTION.search(word) is not None


def _split(tokens: list[_Token]) -> list[list[_Token]]:
    """Split a run at common words and titles into name segments.

    A title followed by "of" takes the role words after it ("Minister of
    Foreign Affairs"), or else one word ("President of France"). Role words
    just before a title are dropped ("Foreign" in "Foreign Minister").
    """
    segments: list[list[_Token]] = []
    current: list[_Token] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        is_title = tok.kind == "word" and tok.text in _TITLES
        if is_title or (tok.kind == "word" and _is_common(tok.text)):
            if is_title:
                while current and (current[-1].kind == "conn" or current[-1].text in _ROLE_WORDS):
                    current.pop()
            if current:
                segments.append(current)
            current = []
            i += 1
            if is_title and i + 1 < n and tokens[i].text == "of":
                i += 1
                swallowed = 0
                while i < n and tokens[i].kind == "word" and tokens[i].text in _ROLE_WORDS:
                    i += 1
                    swallowed += 1
                if swallowed == 0 and i < n and tokens[i].kind == "word":
                    i += 1
            continue
        current.append(tok)
        i += 1
    if current:
        segments.append(current)
    return segments


def _trim(segment: list[_Token]) -> list[_Token]:
    """Drop connectors and numbers that do not sit between or after words."""
    start = 0
    while start < len(segment) and segment[start].kind != "word":
        start += 1
    end = len(segment)
    while end > start and segment[end - 1].kind == "conn":
        end -= 1
    return segment[start:end]


def _is_single_letter(word: str) -> bool:
    return len(word.replace(".", "")) <= 1


def _is_acronym(word: str) -> bool:
    letters = word.replace(".", "")
    return len(letters) >= 2 and letters.isupper()


def _mention(text: str, segment: list[_Token]) -> Mention:
    start, end = segment[0].start, segment[-1].end
    matched = text[start:end]
    return Mention(" ".join(matched.split()), matched, start, end, watched=False)


def find_entities(text: str) -> list[Mention]:
    """Candidate names in ``text``, in order of position, ``watched=False``.

    ``term`` is the name with whitespace collapsed; ``matched`` and the span
    are the name as written, without a possessive "'s".
    """
    if not text:
        return []
    patterns = _patterns()
    titles = _title_lines(text, patterns)
    found: list[Mention] = []
    # Sentence-initial single words, decided once the whole text is read.
    pending: list[_Token] = []
    mid_sentence_words: set[str] = set()
    lowercase_words: set[str] | None = None

    for run in patterns.run.finditer(text):
        if _in_spans(run.start(), titles):
            for m in patterns.token.finditer(text, run.start(), run.end()):
                word = m.group("word")
                if word and not _is_common(word) and word not in _TITLES:
                    pending.append(_Token("word", m.start(), m.end(), word))
            continue
        if run.end("first") == run.end():
            tokens = [_Token("word", run.start(), run.end(), run.group())]
        else:
            tokens = [
                _Token(m.lastgroup or "", m.start(), m.end(), m.group())
                for m in patterns.token.finditer(text, run.start(), run.end())
            ]
        initial = _starts_sentence(text, run.start())
        for raw in _split(tokens):
            segment = _trim(raw)
            words = [tok for tok in segment if tok.kind == "word"]
            if not words or all(tok.text in _CALENDAR for tok in words):
                continue
            if initial and segment[0] is tokens[0]:
                if len(segment) == 1:
                    pending.append(segment[0])
                    continue
                if lowercase_words is None:
                    lowercase_words = set(patterns.lowercase_word.findall(text))
                if segment[0].text.lower() in lowercase_words:
                    segment = _trim(segment[1:])
                    words = words[1:]
                    if not words:
                        continue
                else:
                    words = words[1:]
            mid_sentence_words.update(tok.text for tok in words)
            if len(segment) == 1 and _is_single_letter(segment[0].text):
                continue
            found.append(_mention(text, segment))

    for tok in pending:
        if tok.text in _CALENDAR or _is_single_letter(tok.text):
            continue
        in_title = _in_spans(tok.start, titles)
        if tok.text in mid_sentence_words or (not in_title and _is_acronym(tok.text)):
            found.append(_mention(text, [tok]))
    found.sort(key=lambda m: m.start)
    return found


def candidate_terms(text: str, watchlist: Watchlist | None = None) -> dict[str, int]:
    """How often each candidate name occurs, most frequent first.

    Names overlapping a watched mention are left out: they are already
    watched ("Volodymyr Zelensky" when "Zelensky" is on the list), and
    suggesting them again would be noise. Ties keep the order of first
    occurrence.
    """
    entities = find_entities(text)
    if watchlist is not None and entities:
        watched = find_mentions(text, watchlist)
        starts = [m.start for m in watched]
        kept: list[Mention] = []
        for entity in entities:
            k = bisect_right(starts, entity.end - 1) - 1
            # Watched mentions never overlap each other, so only the last
            # one starting before the entity's end can overlap it.
            if k >= 0 and watched[k].end > entity.start:
                continue
            kept.append(entity)
        entities = kept
    counts: dict[str, int] = {}
    for entity in entities:
        counts[entity.term] = counts.get(entity.term, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))
