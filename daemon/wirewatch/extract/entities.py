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
from operator import attrgetter

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
_SKIP_BACK_CHARS = "".join(sorted(_SKIP_BACK))
_SKIP_OR_END = _SKIP_BACK | _SENTENCE_ENDS
# How far back to look at first for the end of the previous sentence; a
# longer run of skipped characters falls back to the whole text before.
_LOOK_BACK = 32

# Words at which a run is split into names (contractions aside).
_SPLITTERS = _STOPWORDS | _TITLES
# Words that are never a name by themselves (contractions aside), for the
# quick test of single-word runs.
_NEVER_ALONE = _SPLITTERS | _CALENDAR


# One piece of a run: (kind, start, end, text), where kind is "word" (a
# capitalised word), "conn" (a connector) or "num" (a number). A plain tuple,
# because an article has dozens and a class instance costs ten times more.
_Token = tuple[str, int, int, str]
_WORD, _CONN = "word", "conn"


@dataclass(frozen=True, slots=True)
class _Patterns:
    run: re.Pattern[str]
    token: re.Pattern[str]
    any_word: re.Pattern[str]
    title_breaker: re.Pattern[str]


def _ranges_of(codepoints: list[int]) -> str:
    """The inside of a character class listing ``codepoints`` as ranges."""
    ranges: list[str] = []
    start = prev = codepoints[0]
    for cp in [*codepoints[1:], -2]:
        if cp == prev + 1:
            prev = cp
            continue
        ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
        start = prev = cp
    return "".join(ranges)


def _upper_class() -> str:
    """A pattern for one uppercase or titlecase letter, cheap to reject.

    Python's ``re`` has no "uppercase letter" class, so one is built from
    the Unicode database. ``re`` tests a class as a bitmap over the Basic
    Multilingual Plane followed by a list of ranges above it, and a
    character that is not in the class is compared with every one of those
    ranges: with the hundreds of uppercase ranges above U+FFFF, that made
    rejecting each lowercase letter the main cost of the whole module. So
    the class admits everything above U+FFFF as one range, and a lookbehind
    then checks such a rare character against the exact list.
    """
    uppers = [cp for cp in range(0x110000) if chr(cp).isupper() or chr(cp).istitle()]
    bmp = _ranges_of([cp for cp in uppers if cp <= 0xFFFF])
    astral = _ranges_of([cp for cp in uppers if cp > 0xFFFF])
    return rf"[{bmp}\U00010000-\U0010ffff](?<=[\x00-\uffff]|[{astral}])"


@cache
def _patterns() -> _Patterns:
    """Compile the patterns once, on first use.

    Building the uppercase class takes a noticeable fraction of a second,
    which is why it is not done at import.

    A word's first character comes first in its pattern and the "no letter
    before" test follows as a lookbehind over that character: a pattern
    that starts with a character class lets ``re`` skip ahead to the next
    capital in C, where a leading lookbehind made it attempt a full match
    at every position of the text (four times slower).
    """
    upper = _upper_class()
    letter = r"[^\W_]"
    apostrophe = rf"['’](?![sS](?!{letter})){letter}"
    hyphen = rf"-(?=(?:{upper}|\d))"
    # "(?:U\.)+" (an acronym) or "U(?:L|A|H)*", written so that the first U
    # is shared and runs of letters are one repeat of a class, which ``re``
    # steps through in C.
    head = rf"{upper}(?<!{letter}(?s:.))"
    tail = rf"(?:\.(?:{upper}\.)*|{letter}*(?:(?:{apostrophe}|{hyphen}){letter}*)*)"
    word = head + tail
    space = r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+"
    connector = "(?:" + "|".join(sorted(_CONNECTORS, key=lambda w: (-len(w), w))) + ")"
    glued = "(?:" + "|".join(sorted(_GLUED_CONNECTORS)) + ")-"
    number = r"\d+(?:[.,]\d+)*(?![\w%])"
    join = rf"{space}(?:(?:{connector}{space}){{1,2}}|{glued})?"
    # "first" and "last" hold the words of a two-word run (see _pair).
    run = rf"(?P<first>{word})(?:{join}(?P<last>{word}))*(?:{space}{number})?"
    token = rf"(?P<word>{word})|(?P<conn>{connector}(?={space})|{glued})|(?P<num>{number})"
    return _Patterns(
        run=re.compile(run),
        token=re.compile(token),
        any_word=re.compile(rf"[^\W\d_]{letter}*"),
        title_breaker=re.compile(
            rf"(?<!{letter})(?!(?:{_SMALL_TITLE_WORDS})\b)(?!{upper})[^\W\d_]"
        ),
    )


def _starts_sentence(text: str, pos: int) -> bool:
    """Whether the word at ``pos`` is the first of its sentence or line.

    Looks back past spaces, quotes, brackets and dashes: a line break or
    the start of the text means yes; a full stop means yes unless it ends
    an abbreviation or an initial ("Mr.", "U.S.", "George W."). The skipped
    characters are stripped by ``str.rstrip`` from a short window, which is
    much cheaper than stepping back one character at a time in Python.
    """
    if pos > 1 and text[pos - 1] == " " and text[pos - 2] not in _SKIP_OR_END:
        return False  # the usual case: a word, a space, this word
    window = text[pos - _LOOK_BACK : pos] if pos > _LOOK_BACK else text[:pos]
    kept = window.rstrip(_SKIP_BACK_CHARS)
    if not kept and pos > _LOOK_BACK:
        window = text[:pos]
        kept = window.rstrip(_SKIP_BACK_CHARS)
    if not kept or window.find("\n", len(kept)) >= 0:
        return True
    ch = kept[-1]
    if ch not in _SENTENCE_ENDS:
        return False
    if ch != ".":
        return True
    i = pos - len(window) + len(kept) - 1
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


def _is_contraction(word: str) -> bool:
    """Whether ``word`` is a contraction ("I'm", "Don't"), a common word."""
    return ("'" in word or "’" in word) and _CONTRACTION.search(word) is not None


def _is_common(word: str) -> bool:
    """Whether ``word`` is a common English word, never a name by itself."""
    return word in _STOPWORDS or _is_contraction(word)


def _splits(word: str) -> bool:
    """Whether ``word`` splits a run: a title or a common word."""
    return word in _SPLITTERS or _is_contraction(word)


def _written_lowercase(text: str, word: str) -> bool:
    """Whether ``text`` also uses ``word`` as a lowercase word ("neither").

    A lowercase word is a whole run of letters and digits whose first
    character is a letter that is not a capital. Searching for the one
    lowercased word is far cheaper than collecting every lowercase word of
    the text, which only a few runs per article would ever consult.
    """
    low = word.lower()
    first = low[0]
    if not low.isalnum() or first.isdecimal() or first.isupper() or first.istitle():
        return False
    size = len(low)
    i = text.find(low)
    while i >= 0:
        end = i + size
        if (i == 0 or not text[i - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            return True
        i = text.find(low, i + 1)
    return False


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
        kind, word = tok[0], tok[3]
        is_title = kind == _WORD and word in _TITLES
        if is_title or (kind == _WORD and _is_common(word)):
            if is_title:
                while current and (current[-1][0] == _CONN or current[-1][3] in _ROLE_WORDS):
                    current.pop()
            if current:
                segments.append(current)
            current = []
            i += 1
            if is_title and i + 1 < n and tokens[i][3] == "of":
                i += 1
                swallowed = 0
                while i < n and tokens[i][0] == _WORD and tokens[i][3] in _ROLE_WORDS:
                    i += 1
                    swallowed += 1
                if swallowed == 0 and i < n and tokens[i][0] == _WORD:
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
    while start < len(segment) and segment[start][0] != _WORD:
        start += 1
    end = len(segment)
    while end > start and segment[end - 1][0] == _CONN:
        end -= 1
    return segment[start:end]


def _is_single_letter(word: str) -> bool:
    return len(word.replace(".", "")) <= 1


def _is_acronym(word: str) -> bool:
    letters = word.replace(".", "")
    return len(letters) >= 2 and letters.isupper()


def _mention(text: str, segment: list[_Token]) -> Mention:
    start, end = segment[0][1], segment[-1][2]
    matched = text[start:end]
    # A single token holds no whitespace, so only longer names need collapsing.
    term = matched if len(segment) == 1 else " ".join(matched.split())
    return Mention(term, matched, start, end, False)


def _pair(run: re.Match[str], text: str) -> list[_Token] | None:
    """The two words of ``run`` if it is just two words joined by spaces.

    Most runs of more than one word are such pairs ("Boris Johnson", "The
    Kremlin"); the run pattern's "first" and "last" groups already hold
    both, so they need not be scanned for again.
    """
    first_end = run.end("first")
    last_start, last_end = run.span("last")
    if last_end != run.end() or not text[first_end:last_start].isspace():
        return None
    first, last = run.group("first", "last")
    return [(_WORD, run.start(), first_end, first), (_WORD, last_start, last_end, last)]


def _tokens(run: re.Match[str], text: str, patterns: _Patterns) -> list[_Token]:
    """The words, connectors and numbers of a run of more than one word."""
    return [
        (m.lastgroup or "", m.start(), m.end(), m.group())
        for m in patterns.token.finditer(text, run.start(), run.end())
    ]


_BY_START = attrgetter("start")


def find_entities(text: str) -> list[Mention]:
    """Candidate names in ``text``, in order of position, ``watched=False``.

    ``term`` is the name with whitespace collapsed; ``matched`` and the span
    are the name as written, without a possessive "'s".

    A run goes through the general rules (tokens, :func:`_split`,
    :func:`_trim`) unless it has one of the two commonest shapes, for which
    the outcome of those rules is worked out in place: a single word
    ("Pentagon"), and two words whose second does not split the run ("Boris
    Johnson", "The Kremlin"). An article has about fifty runs, nine in ten
    of those shapes, and building tokens for each was most of the cost.
    """
    if not text:
        return []
    patterns = _patterns()
    titles = _title_lines(text, patterns)
    found: list[Mention] = []
    # Sentence-initial single words, decided once the whole text is read.
    pending: list[_Token] = []
    mid_sentence_words: set[str] = set()

    for run in patterns.run.finditer(text):
        run_start, run_end = run.span()
        if titles and _in_spans(run_start, titles):
            for m in patterns.token.finditer(text, run_start, run_end):
                word = m.group("word")
                if word and not _is_common(word) and word not in _TITLES:
                    pending.append((_WORD, m.start(), m.end(), word))
            continue

        if run.end("first") == run_end:
            word = run.group()
            if word in _NEVER_ALONE or _is_contraction(word):
                continue
            if _starts_sentence(text, run_start):
                pending.append((_WORD, run_start, run_end, word))
                continue
            mid_sentence_words.add(word)
            if not _is_single_letter(word):
                found.append(Mention(word, word, run_start, run_end, False))
            continue

        tokens = _pair(run, text)
        if tokens is not None and not _splits(tokens[1][3]):
            (_, _, _, first), (_, last_start, _, last) = tokens
            if _splits(first):
                # "The Kremlin", "President Putin": the second word alone,
                # and never first in its sentence.
                if last in _CALENDAR:
                    continue
                mid_sentence_words.add(last)
                if not _is_single_letter(last):
                    found.append(Mention(last, last, last_start, run_end, False))
                continue
            # "Boris Johnson": both words, unless the pair starts a sentence
            # with a word also used in lowercase ("Neither Putin").
            if first in _CALENDAR and last in _CALENDAR:
                continue
            if _starts_sentence(text, run_start):
                mid_sentence_words.add(last)
                if _written_lowercase(text, first):
                    if not _is_single_letter(last):
                        found.append(Mention(last, last, last_start, run_end, False))
                    continue
            else:
                mid_sentence_words.add(first)
                mid_sentence_words.add(last)
            matched = text[run_start:run_end]
            found.append(Mention(f"{first} {last}", matched, run_start, run_end, False))
            continue

        if tokens is None:
            tokens = _tokens(run, text, patterns)
        initial: bool | None = None
        for raw in _split(tokens):
            segment = _trim(raw)
            words = [tok[3] for tok in segment if tok[0] == _WORD]
            if not words or all(word in _CALENDAR for word in words):
                continue
            if segment[0] is tokens[0]:
                if initial is None:
                    initial = _starts_sentence(text, run_start)
                if initial:
                    if len(segment) == 1:
                        pending.append(segment[0])
                        continue
                    if _written_lowercase(text, words[0]):
                        segment = _trim(segment[1:])
                        if len(words) == 1:
                            continue
                    words = words[1:]
            mid_sentence_words.update(words)
            if len(segment) == 1 and _is_single_letter(segment[0][3]):
                continue
            found.append(_mention(text, segment))

    for _, start, end, word in pending:
        if word in _CALENDAR or _is_single_letter(word):
            continue
        in_title = _in_spans(start, titles)
        if word in mid_sentence_words or (not in_title and _is_acronym(word)):
            found.append(Mention(word, word, start, end, False))
    found.sort(key=_BY_START)
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
