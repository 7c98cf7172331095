"""Tests for the parse stage: bytes of one file to articles."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirewatch.models import Article, ParsedRecord, ParseError
from wirewatch.parse import DEFAULT_BOILERPLATE, Boilerplate, parse_bytes
from wirewatch.parse.html import site_hint
from wirewatch.parse.text import derive_title, parse_datetime

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
BBC = REPO.parent / "shared" / "corpus" / "bbc"
MTIME = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)


def parse_one(
    data: bytes, name: str = "article.txt", boilerplate: Boilerplate | None = None
) -> Article:
    records = parse_bytes(data, name=name, mtime=MTIME, boilerplate=boilerplate)
    assert len(records) == 1
    assert records[0].identity == data
    return records[0].article


def seed(prefix: str) -> Article:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return parse_one(path.read_bytes(), path.name)


def reason(data: bytes, name: str = "x.txt") -> str:
    with pytest.raises(ParseError) as info:
        parse_bytes(data, name=name, mtime=MTIME)
    return info.value.reason


def outcome_of(data: bytes, name: str) -> str:
    """``"ok"`` or the ParseError reason; any other exception propagates."""
    try:
        records = parse_bytes(data, name=name, mtime=MTIME)
    except ParseError as exc:
        return exc.reason
    assert records
    assert all(isinstance(r, ParsedRecord) for r in records)
    return "ok"


# --- seeds -------------------------------------------------------------------


def test_seed_000_date_glued_to_first_paragraph() -> None:
    article = seed("000")
    assert article.published == datetime(2022, 2, 4, tzinfo=UTC)
    assert not article.date_estimated
    assert article.title_derived
    assert article.paragraphs[0].startswith("The US on Wednesday deployed several thousand troops")
    assert article.title.startswith("The US on Wednesday deployed")
    assert len(article.title) <= 100
    assert article.title.endswith("…")
    assert "Photo: AP" not in article.body
    assert article.format == "text"


def test_seed_001_title_subheads_and_afp_furniture() -> None:
    article = seed("001")
    assert article.published == MTIME
    assert article.date_estimated
    assert article.title == "Biden to send troops to eastern Europe amid Ukraine diplomacy push"
    assert not article.title_derived
    assert "Bitnami" not in article.body
    assert "burs-lc/dl" not in article.body
    assert "AFP" in article.source_hints
    assert "Complex threat" in article.subheads
    assert "Threat to key pipeline" in article.subheads
    assert not any("Complex threat" in p for p in article.paragraphs)
    assert article.paragraphs[0].startswith("US President Joe Biden is maintaining pressure")
    assert article.paragraphs[-1].startswith("Washington and Berlin have warned")


def test_seed_002_caption_title_and_reporting_credit() -> None:
    article = seed("002")
    assert article.title == (
        "London Again Warns Moscow Against Invading Ukraine As U.S. Sends Troops To Europe"
    )
    assert article.caption == "U.S. and Ukrainian soldiers"
    for junk in ("Share and Enjoy", "Leave a Reply", "email address", "With reporting by"):
        assert junk not in article.body
    for source in ("Reuters", "RFERL", "AFP", "CNN", "AP"):
        assert source in article.source_hints
    assert article.paragraphs[0].startswith("British Prime Minister Boris Johnson")


def test_seed_003_date_line_with_quote_lead() -> None:
    article = seed("003")
    assert article.published == datetime(2022, 2, 2, tzinfo=UTC)
    assert article.title_derived
    assert article.title == (
        "“These forces are not going to fight in Ukraine,” burdened Pentagon spokesman John Kirby"
    )
    assert "‘Ukraine only a device’" in article.subheads


def test_seed_004_lone_date_line_and_afp_credit() -> None:
    article = seed("004")
    assert article.published == datetime(2022, 1, 30, tzinfo=UTC)
    assert "AFP" in article.source_hints
    assert "(AFP)" not in article.body
    assert article.title_derived
    assert article.paragraphs[0].startswith("Kiev urged the West")
    assert "‘Stability is compromised’" in article.subheads
    assert "Russia’s concerns remain unresolved" in article.subheads
    assert "Russia’s concerns remain unresolved" not in article.paragraphs


def test_seeds_single_newline_paragraphs() -> None:
    article = seed("000")
    assert len(article.paragraphs) == 22
    assert all("\n" not in p for p in article.paragraphs)


# --- BBC corpus ----------------------------------------------------------------

needs_bbc = pytest.mark.skipif(not BBC.is_dir(), reason="BBC corpus not present")


@needs_bbc
def test_bbc_corpus_parses_with_first_line_titles() -> None:
    files = sorted(BBC.glob("*/*.txt"))
    assert len(files) == 2225
    blobs = [(path, path.read_bytes()) for path in files]
    started = time.perf_counter()
    results = [(path, parse_bytes(data, name=path.name, mtime=MTIME)) for path, data in blobs]
    elapsed = time.perf_counter() - started
    for path, records in results:
        [record] = records
        first_line = record.identity.decode("utf-8", "replace").split("\n", 1)[0]
        assert record.article.title == " ".join(first_line.split()), path
        assert not record.article.title_derived, path
        assert record.article.paragraphs, path
    assert elapsed < 5.0


@needs_bbc
def test_bbc_windows_1252_file() -> None:
    path = BBC / "sport" / "199.txt"
    data = path.read_bytes()
    assert b"\xa3" in data
    article = parse_one(data, path.name)
    assert "£15.8m" in article.body
    assert article.title == "Chelsea sack Mutu"


# --- decoding ------------------------------------------------------------------


def test_utf8_bom_is_stripped() -> None:
    article = parse_one(b"\xef\xbb\xbfHeadline here\n\nBody text that is a sentence.\n")
    assert article.title == "Headline here"
    assert article.paragraphs == ("Body text that is a sentence.",)


def test_windows_1252_fallback() -> None:
    text = "Caf\u00e9 prices soar\n\nA coffee costs \u00a33.50 in Z\u00fcrich, traders said.\n"
    article = parse_one(text.encode("cp1252"))
    assert article.title == "Caf\u00e9 prices soar"
    assert "\u00a33.50" in article.body
    assert "Z\u00fcrich" in article.body


def test_utf8_with_a_damaged_tail_stays_utf8() -> None:
    good = "Zürich café prices\n\nA crème brûlée costs more in Zürich, Genève and Köln.\n"
    article = parse_one(good.encode() + b"\xe2\x82")  # a euro sign cut in half
    assert article.title == "Zürich café prices"
    assert "crème brûlée" in article.body


def test_utf16_with_bom() -> None:
    article = parse_one("Title\n\nSome body text here.\n".encode("utf-16"))
    assert article.title == "Title"


def test_nul_bytes_are_binary() -> None:
    assert reason(b"Title\n\nBody\x00 text.\n") == "binary"


def test_control_bytes_are_binary() -> None:
    assert reason(bytes(range(1, 9)) * 20 + b"some text") == "binary"


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n ", b"\xef\xbb\xbf  \n"])
def test_empty(data: bytes) -> None:
    assert reason(data) == "empty"


def test_random_bytes_are_refused() -> None:
    rng = random.Random(1234)
    for size in (64, 1024, 65536):
        assert reason(rng.randbytes(size)) in ("binary", "undecodable")
    high = bytes(rng.randrange(0x80, 0x100) for _ in range(4096))
    assert reason(high) in ("binary", "undecodable")


# --- text rules ------------------------------------------------------------------


def test_boilerplate_only_is_no_text() -> None:
    assert reason(b"Share and Enjoy !\n\nLeave a Reply\n\nAdvertisement\n") == "no_text"


def test_text_without_letters_is_no_text() -> None:
    assert reason(b"12345\n\n----\n\n3.14\n") == "no_text"


def test_one_line_article_is_body_with_derived_title() -> None:
    article = parse_one(b"Troops move east")
    assert article.paragraphs == ("Troops move east",)
    assert article.title == "Troops move east"
    assert article.title_derived


def test_prose_first_line_is_not_a_title() -> None:
    data = (
        b"The first paragraph reads like prose and ends with a stop. It has two sentences.\n\n"
        b"The second paragraph.\n"
    )
    article = parse_one(data)
    assert article.title_derived
    assert article.title == "The first paragraph reads like prose and ends with a stop"
    assert len(article.paragraphs) == 2


def test_headline_with_standfirst_keeps_first_line_as_title() -> None:
    data = (
        b"What really divides the parties\n\n"
        b"So what is the gap between Labour and the Tories nowadays?\n\n"
        b"The answer, as ever, is complicated.\n"
    )
    article = parse_one(data)
    assert article.title == "What really divides the parties"
    assert article.caption is None
    assert article.paragraphs[0].startswith("So what is the gap")


def test_short_title_cased_second_line_is_not_the_title() -> None:
    data = b"Biden to send troops\n\nWorld News\n\nThe president said on Friday he would act.\n"
    article = parse_one(data)
    assert article.title == "Biden to send troops"
    assert article.caption is None
    assert article.paragraphs[0] == "World News"


def test_cutoff_drops_comment_form() -> None:
    data = (
        b"Title\n\nStory text here.\n\nLeave a Reply\n\nComment\n\nName *\n\n"
        b"Save my name, email, and website in this browser for the next time I comment.\n"
    )
    assert parse_one(data).paragraphs == ("Story text here.",)


def test_desk_slug_and_bylines() -> None:
    data = b"Headline here\n\nBy Jane Smith\n\nStory text here.\n\nbur-jm/sst\n"
    article = parse_one(data)
    assert article.title == "Headline here"
    assert article.paragraphs == ("Story text here.",)
    assert article.source_hints == ("AFP",)


def test_date_line_with_time_and_zone() -> None:
    article = parse_one(b"date: 2022-02-04T10:30:00+02:00\nTitle\n\nBody text here.\n")
    assert article.published == datetime(2022, 2, 4, 8, 30, tzinfo=UTC)
    assert article.title == "Title"


def test_credit_lines_become_hints() -> None:
    data = (
        b"Headline\n\nKYIV, Feb 2 (Reuters) - Something happened today in the capital.\n\n"
        b"More text follows here. (AP)\n\n"
        b"- Reuters\n\n"
        b"Reporting by Jane Doe; Editing by John Roe\n"
    )
    article = parse_one(data)
    assert article.source_hints == ("Reuters", "AP")
    assert article.paragraphs[-1] == "More text follows here."
    assert "Editing by" not in article.body


def test_sentence_mentioning_a_source_is_kept() -> None:
    data = b"Headline\n\nBy contrast, the AP reported five deaths.\n\nReuters said more.\n"
    article = parse_one(data)
    assert article.paragraphs == (
        "By contrast, the AP reported five deaths.",
        "Reuters said more.",
    )
    assert article.source_hints == ()


def test_list_lines_stay_in_body() -> None:
    data = (
        b"Cup draw made\n\nThe draw for the next round was made on Monday.\n\n"
        b"Chelsea v Birmingham\n\nArsenal v Stoke\n\nNewcastle v Coventry\n\n"
        b"Ties will be played next month.\n"
    )
    article = parse_one(data)
    assert article.subheads == ()
    assert "Arsenal v Stoke" in article.paragraphs


def test_extended_boilerplate() -> None:
    rules = DEFAULT_BOILERPLATE.extend(lines=["Exclusive to members"], patterns=[r"ref:\s*\d+"])
    data = b"Title\n\nExclusive to members\n\nReal text here.\n\nRef: 12345\n"
    article = parse_one(data, boilerplate=rules)
    assert article.paragraphs == ("Real text here.",)
    default = parse_one(data)
    assert "Exclusive to members" in default.paragraphs


def test_boilerplate_is_frozen_and_validates_patterns() -> None:
    rules = Boilerplate()
    assert rules.matches("SHARE AND ENJOY!")
    assert rules.matches("Photo: Getty Images")
    assert not rules.matches("The advertisement campaign cost $5m.")
    with pytest.raises(ValueError, match="bad boilerplate pattern"):
        rules.extend(patterns=["(unclosed"])
    with pytest.raises(AttributeError):
        rules.lines = frozenset()  # type: ignore[misc]


def test_derive_title_cuts_on_word_boundary() -> None:
    assert derive_title("Short lead. Second sentence.") == "Short lead"
    assert (
        derive_title("Mr. Smith went to Washington. Then home.") == "Mr. Smith went to Washington"
    )
    long = "word " * 50
    title = derive_title(long)
    assert title.endswith("…")
    assert len(title) <= 100
    assert title[:-1].split() == ["word"] * len(title[:-1].split())


def test_parse_datetime_shapes() -> None:
    assert parse_datetime("2022-02-04") == datetime(2022, 2, 4, tzinfo=UTC)
    assert parse_datetime("Fri, 04 Feb 2022 10:00:00 +0100") == datetime(
        2022, 2, 4, 10, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_datetime(1643968800) == datetime(2022, 2, 4, 10, tzinfo=UTC)
    assert parse_datetime(1643968800000) == datetime(2022, 2, 4, 10, tzinfo=UTC)
    for garbage in ("yesterday", "", "2022-13-45", True, None, -5, "9" * 80):
        assert parse_datetime(garbage) is None


def test_naive_mtime_is_taken_as_utc() -> None:
    naive = datetime(2022, 3, 1, 12, 0)
    [record] = parse_bytes(b"Just a body line.", name="a.txt", mtime=naive)
    assert record.article.published == MTIME
    assert record.article.published.tzinfo is not None


# --- JSON ------------------------------------------------------------------------


def test_json_lines_three_records() -> None:
    rows = [
        {"title": "One", "text": "First story text.", "date": "2022-02-01"},
        {"title": "Two", "body": "Second story text.", "published": "2022-02-02T10:00:00Z"},
        {"content": "Third story text has no title.", "url": "https://example.com/3"},
    ]
    lines = [json.dumps(row).encode() for row in rows]
    records = parse_bytes(b"\n".join(lines) + b"\n", name="feed.jsonl", mtime=MTIME)
    assert len(records) == 3
    assert [r.identity for r in records] == lines
    assert len({r.identity for r in records}) == 3
    one, two, three = (r.article for r in records)
    assert one.title == "One"
    assert one.published == datetime(2022, 2, 1, tzinfo=UTC)
    assert two.paragraphs == ("Second story text.",)
    assert two.published == datetime(2022, 2, 2, 10, tzinfo=UTC)
    assert three.title_derived
    assert three.date_estimated
    assert three.published == MTIME
    assert three.url == "https://example.com/3"
    assert all(a.format == "json" for a in (one, two, three))


def test_json_array_identity_is_canonical() -> None:
    rows = [
        {"title": "A", "text": "Alpha text.", "source": "AFP"},
        {"text": "Beta text.", "title": "B", "source": {"name": "Associated Press"}},
    ]
    records = parse_bytes(json.dumps(rows, indent=2).encode(), name="a.json", mtime=MTIME)
    assert [r.identity for r in records] == [
        json.dumps(row, sort_keys=True).encode() for row in rows
    ]
    assert records[0].article.source_hints == ("AFP",)
    assert records[1].article.source_hints == ("AP",)


def test_json_object_and_feed() -> None:
    [single] = parse_bytes(
        b'{"title": "T", "text": "Para one.\\n\\nPara two."}', name="a.json", mtime=MTIME
    )
    assert single.article.paragraphs == ("Para one.", "Para two.")
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"title": "X", "content_html": "<p>First <b>para</b>.</p><p>Second &amp; last.</p>"},
            {"title": "Y", "content_text": "Plain body.", "date_published": "2022-02-03"},
        ],
    }
    records = parse_bytes(json.dumps(feed).encode(), name="feed.json", mtime=MTIME)
    assert [r.article.title for r in records] == ["X", "Y"]
    assert records[0].article.paragraphs == ("First para.", "Second & last.")


def test_json_text_gets_furniture_removed() -> None:
    record = {
        "title": "T",
        "text": "Lead paragraph.\n\nAdvertisement\n\n(Reuters)\n\nShare and Enjoy !",
        "sources": ["dpa", {"name": "Thomson Reuters"}],
    }
    [parsed] = parse_bytes(json.dumps(record).encode(), name="r.json", mtime=MTIME)
    assert parsed.article.paragraphs == ("Lead paragraph.",)
    assert parsed.article.source_hints == ("dpa", "Reuters")


def test_json_record_without_text_is_skipped() -> None:
    data = b'{"title": "no text"}\n{"title": "ok", "text": "Body."}\n'
    records = parse_bytes(data, name="a.ndjson", mtime=MTIME)
    assert [r.article.title for r in records] == ["ok"]
    assert reason(b'{"title": "no text"}', "a.json") == "no_text"


@pytest.mark.parametrize(
    "data", [b'{"title": "x", "text": ', b"[1, 2", b'{"a": 1}\n{"b": oops}\n', b"[" * 100000]
)
def test_broken_json(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_bytes(data, name="bad.json", mtime=MTIME)
    assert info.value.reason == "bad_json"
    assert info.value.detail


def test_json_lines_error_names_the_line() -> None:
    data = b'{"text": "a"}\n{"text": "b"}\n{"text": oops}\n'
    for name in ("a.json", "a.jsonl"):
        with pytest.raises(ParseError) as info:
            parse_bytes(data, name=name, mtime=MTIME)
        assert info.value.reason == "bad_json"
        assert info.value.detail.startswith("line 3:")


def test_sniffed_json_and_fallback_to_text() -> None:
    [record] = parse_bytes(b'{"title": "T", "text": "Body."}', name="noext.dat", mtime=MTIME)
    assert record.article.format == "json"
    article = parse_one(b"[Update] Headline\n\nBody text here.", "note.dat")
    assert article.format == "text"
    assert article.title == "[Update] Headline"


def test_empty_json_array() -> None:
    assert reason(b"[]", "a.json") == "empty"


# --- HTML ------------------------------------------------------------------------

PAGE = b"""<!DOCTYPE html>
<html><head><title>Troops head east | Example News</title>
<meta property="article:published_time" content="2022-02-03T10:30:00+02:00">
<link rel="canonical" href="https://example.com/news/troops-east">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article>
<h1>Troops head east</h1>
<p>The United States said on Wednesday it would send 3,000 troops to Poland, Romania
and Germany to bolster NATO allies on the eastern flank.</p>
<p>Advertisement</p>
<h2>Complex threat</h2>
<p>Russia has massed more than 100,000 troops near the Ukrainian border, officials
said on Thursday, raising fears of an invasion.</p>
<p>Share and Enjoy !</p>
<p>Photo: AP</p>
</article>
<footer>Copyright 2022 Example News. All rights reserved.</footer>
</body></html>
"""


def test_html_page() -> None:
    article = parse_one(PAGE, "page.html")
    assert article.format == "html"
    assert article.title == "Troops head east"
    assert not article.title_derived
    assert article.published == datetime(2022, 2, 3, 8, 30, tzinfo=UTC)
    assert not article.date_estimated
    assert article.url == "https://example.com/news/troops-east"
    assert article.paragraphs[0].startswith("The United States said on Wednesday")
    assert article.paragraphs[1].startswith("Russia has massed more than 100,000 troops")
    assert len(article.paragraphs) == 2
    assert "Complex threat" in article.subheads
    for junk in ("Advertisement", "Share and Enjoy", "Photo: AP", "Home"):
        assert junk not in article.body


def test_site_hint() -> None:
    assert site_hint("www.reuters.com") == "Reuters"
    assert site_hint("Associated Press") == "AP"
    assert site_hint("Example News") == "Example News"


def test_html_sniffed_and_without_date() -> None:
    page = PAGE.replace(
        b'<meta property="article:published_time" content="2022-02-03T10:30:00+02:00">', b""
    )
    assert b"2022" not in page.replace(b"Copyright 2022", b"")
    article = parse_one(page, "page.php")
    assert article.format == "html"
    assert article.date_estimated
    assert article.published == MTIME


def test_html_fragment_and_garbage() -> None:
    article = parse_one(b"<p>A lonely paragraph of news text about troops.</p>", "frag.html")
    assert article.paragraphs == ("A lonely paragraph of news text about troops.",)
    assert reason(b"<<<>>>", "x.html") in ("html_unparsable", "no_text")


def test_deeply_nested_html_does_not_crash() -> None:
    data = b"<html><body>" + b"<div>" * 50000 + b"<p>Deep text.</p>" + b"</div>" * 50000
    outcome = outcome_of(data + b"</body></html>", "deep.html")
    assert outcome in ("ok", "html_unparsable", "no_text", "parser_error")


# --- whatever the input ------------------------------------------------------------

NAMES = st.sampled_from(["a.txt", "a.html", "a.json", "a.jsonl", "a", "a.bin"])


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048), name=NAMES)
def test_arbitrary_bytes_only_raise_parse_error(data: bytes, name: str) -> None:
    try:
        records = parse_bytes(data, name=name, mtime=MTIME)
    except ParseError as exc:
        records = []
        error = exc
    assert records or error.reason
    for record in records:
        assert isinstance(record.article, Article)
        assert record.article.paragraphs
        assert record.article.title
        assert record.article.published is not None
        assert record.article.published.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=1000), name=NAMES)
def test_arbitrary_text_only_raises_parse_error(text: str, name: str) -> None:
    assert outcome_of(text.encode("utf-8", "surrogatepass"), name)
