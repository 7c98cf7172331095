"""Benchmark: rule evaluation per article with 200 rules, against the rest of the pipeline.

The corpus is parsed and extracted once (timed: that is the pipeline's own
cost per article), then stored twice into scratch databases with the same
durability settings and batching as a backfill: once with no hooks (the
store's cost) and once with the rules stage over 200 generated rules as
the hook, alerts going into the real outbox (the rules' cost, timed inside
the hook, so it includes loading and writing rule state, fingerprints and
alerts in the transaction).

The 200 rules mix every type and are built from the corpus's own frequent
names, so they really match: 60 ``term``, 60 ``new_term`` (20 of them on
every candidate name in their scope), 40 ``figure``, 20 ``frequency``, 10
``spike`` and 10 ``flatline``. The clock moves a minute per article, so the
windows slide. Two profiles: ``typical`` (what a desk would run; alerts
are rare) and ``stress`` (nearly every rule fires on nearly every
article), which together give the cost of one alert;
``rules_evaluation_only_ms_per_article`` is the CPU part alone (facts and
200 rules, no database). ``rules_share_of_pipeline`` is the typical rules
cost / (parse + extract + store + rules): the number that must stay small.

Run from the repository root::

    .venv/bin/python -m bench.rules --corpus /work/shared/corpus/bbc
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wirewatch.config import load_config
from wirewatch.extract.extractor import build_extractor
from wirewatch.models import ParseError
from wirewatch.parse import DEFAULT_BOILERPLATE, parse_bytes
from wirewatch.rules.engine import RulesStage
from wirewatch.rules.facts import build_facts
from wirewatch.rules.loader import load_rules
from wirewatch.rules.scope import in_scope
from wirewatch.rules.types import RuleState
from wirewatch.store import FileToStore, RecordToStore, Store

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "bbc"
SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config" / "wirewatch.toml"
BATCH = 50


@dataclass
class Prepared:
    path: str
    record: RecordToStore


BenchStore = Store
"""Articles, rule state and the real outbox: alerts cost what they cost live."""


class TickingClock:
    """Each reading is a minute after the previous one: one article a minute."""

    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def prepare(corpus: Path, limit: int | None) -> tuple[list[Prepared], float]:
    """Parse and extract every file; returns the records and the seconds it took."""
    cfg, _ = load_config(SHIPPED_CONFIG if SHIPPED_CONFIG.exists() else None, env={})
    extract = build_extractor(cfg.extract)
    files = sorted(p for p in corpus.rglob("*.txt") if p.name != "README.TXT")[:limit]
    out: list[Prepared] = []
    started = time.perf_counter()
    mtime = datetime(2024, 1, 1, tzinfo=UTC)
    for path in files:
        data = path.read_bytes()
        try:
            parsed = parse_bytes(data, name=path.name, mtime=mtime, boilerplate=DEFAULT_BOILERPLATE)
        except ParseError:
            continue
        for rec in parsed:
            figures, mentions = extract(rec.article)
            sha = hashlib.sha256(rec.identity).hexdigest()
            out.append(Prepared(str(path), RecordToStore(sha, rec.article, figures, mentions)))
    return out, time.perf_counter() - started


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | list | dict):
        return (
            json.dumps(value, ensure_ascii=False).replace('": ', '" = ')
            if isinstance(value, dict)
            else json.dumps(value, ensure_ascii=False)
        )
    return str(value)


def _rule_toml(rule: dict[str, Any]) -> str:
    scope = rule.pop("scope", None)
    lines = ["[[rules]]"] + [f"{k} = {_toml(v)}" for k, v in rule.items()]
    if scope:
        lines.append("[rules.scope]")
        lines += [f"any.terms = {_toml(scope)}"]
    return "\n".join(lines) + "\n"


def generate_rules(
    items: list[Prepared], count: int = 200, profile: str = "typical"
) -> list[dict[str, Any]]:
    """Rules of every type over the corpus's own names and units, so they match.

    ``typical`` is what a desk would run: watchlists of specific names,
    figures alerting on large changes, windows over a topic; alerts are
    rare. ``stress`` makes nearly every rule fire on nearly every article
    (frequent names, every candidate name new, small deltas), to show what
    an alert costs.
    """
    names: Counter[str] = Counter()
    units: Counter[str] = Counter()
    for item in items:
        names.update(sorted({m.term for m in item.record.mentions}))
        units.update(sorted({f.unit_lemma for f in item.record.figures if f.unit_lemma}))
    ranked = [n for n, _ in names.most_common()]
    top_units = [u for u, _ in units.most_common(40)] or ["people"]
    stress = profile == "stress"
    offset = 0 if stress else 200

    def pick(i: int, k: int, base: int = 0) -> list[str]:
        pool = ranked[offset + base :] or ranked
        return [pool[(i * k + j) % len(pool)] for j in range(k)]

    plan = [
        ("term", 60),
        ("new_term", 60),
        ("figure", 40),
        ("frequency", 20),
        ("spike", 10),
        ("flatline", 10),
    ]
    scale = count / sum(n for _, n in plan)
    rules: list[dict[str, Any]] = []
    for type_, n in plan:
        for i in range(max(1, round(n * scale))):
            r: dict[str, Any] = {"name": f"{type_}-{i}", "type": type_}
            if type_ == "term":
                # A desk watches rare words; the stress profile, frequent names.
                r |= {"terms": pick(i, 3, 0 if stress else 800), "query_key": "story"}
            elif type_ == "new_term":
                if (stress and i % 3 == 2) or (not stress and i % 12 == 11):
                    r |= {"names": True, "scope": pick(i, 1, 200)}
                else:
                    r |= {"terms": pick(i, 5, 100)}
            elif type_ == "figure":
                r |= {
                    "units": [top_units[i % len(top_units)]],
                    "alert_on_first": stress,
                    "change_rel": 0.2 if stress else 1.0,
                    "query_key": "story" if stress and i % 2 else "none",
                    "scope": [ranked[i % 50]] if not stress else [],
                }
                if i % 4 == 0:
                    r["sentence_regex"] = r"\b(said|says|reported)\b"
            elif type_ == "frequency":
                r |= {"timeframe": "1h", "num_events": 5 if stress else 15, "scope": pick(i, 2)}
                if i % 2:
                    r |= {"num_sources": 2 if stress else 5}
                    del r["num_events"]
            elif type_ == "spike":
                r |= {"timeframe": "2h", "spike_height": 3, "threshold_cur": 5, "scope": pick(i, 1)}
            else:
                r |= {"timeframe": "3h", "threshold": 1, "scope": pick(i, 1)}
            if not r.get("scope"):
                r.pop("scope", None)
            rules.append(r)
    return rules[:count]


async def _store_all(items: list[Prepared], db: Path, stage_rules: Path | None) -> dict[str, Any]:
    store = await BenchStore.open(db)
    stage = None
    per_article: list[float] = []
    try:
        hooks = []
        if stage_rules is not None:
            stage = RulesStage(
                store, store, load_rules(stage_rules, {"console"}), clock=TickingClock()
            )
            await stage.start()
            hooks.append(stage)
        started = time.perf_counter()
        for i in range(0, len(items), BATCH):
            batch = items[i : i + BATCH]
            files = [FileToStore(p.path, p.record.sha256, 1, 0, [p.record]) for p in batch]
            before = stage.stats.seconds if stage else 0.0
            await store.store_files(files, hooks)
            if stage is not None:
                per_article.append((stage.stats.seconds - before) / len(batch))
        total = time.perf_counter() - started
    finally:
        await store.close()
    out: dict[str, Any] = {"seconds": total}
    if stage is not None:
        s = stage.stats
        out |= {
            "rules_seconds": s.seconds,
            "articles_evaluated": s.articles,
            "alerts": s.alerts,
            "firings": s.firings,
            "duplicates": s.duplicates,
            "per_batch_mean_ms": [round(x * 1000, 3) for x in per_article],
            "alerts_by_type": dict(
                Counter(
                    name.rsplit("-", 1)[0] for name in s.by_rule for _ in range(s.by_rule[name])
                )
            ),
        }
    return out


def write_generated_rules(
    items: list[Prepared], folder: Path, count: int = 200, profile: str = "typical"
) -> Path:
    """Write ``count`` generated rules into ``folder`` (created) as one rule file."""
    folder.mkdir(parents=True, exist_ok=True)
    generated = generate_rules(items, count, profile)
    (folder / "generated.toml").write_text(
        "\n".join(_rule_toml(dict(r)) for r in generated), encoding="utf-8"
    )
    return folder


def _variant(items: list[Prepared], root: Path, rules: int, profile: str) -> dict[str, Any]:
    folder = write_generated_rules(items, root / f"rules-{profile}", rules, profile)
    load_started = time.perf_counter()
    ruleset = load_rules(folder, {"console"})
    load_seconds = time.perf_counter() - load_started
    result = asyncio.run(_store_all(items, root / f"{profile}.db", folder))
    n = len(items)
    batches = result.pop("per_batch_mean_ms")
    return {
        "rules": len(ruleset),
        "rules_by_type": dict(Counter(r.config.type for r in ruleset.rules)),
        "load_and_validate_ms": round(load_seconds * 1000, 1),
        "rules_ms_per_article": round(result["rules_seconds"] / n * 1000, 3),
        "rules_ms_per_article_median_batch": round(statistics.median(batches), 3),
        "rules_ms_per_article_worst_batch": round(max(batches), 3),
        "alerts": result["alerts"],
        "alerts_per_article": round(result["alerts"] / n, 3),
        "alerts_by_type": result["alerts_by_type"],
    }


def evaluation_only(items: list[Prepared], root: Path, rules: int) -> float:
    """Milliseconds per article of facts and rules alone: no database, no alerts sent."""
    folder = root / "rules-pure"
    folder.mkdir()
    generated = generate_rules(items, rules, "typical")
    (folder / "generated.toml").write_text(
        "\n".join(_rule_toml(dict(r)) for r in generated), encoding="utf-8"
    )
    ruleset = load_rules(folder, {"console"})
    states = {r.name: RuleState() for r in ruleset.rules}
    clock = TickingClock()
    started = time.perf_counter()
    for i, item in enumerate(items):
        now = clock()
        rec = item.record
        facts = build_facts(
            i, rec.article, rec.figures, rec.mentions, item.path, now, None, ruleset.matcher
        )
        for rule in ruleset.rules:
            if in_scope(rule.scope, facts):
                state = states[rule.name]
                for firing in rule.type.observe(facts, state, now):
                    if not firing.repeat:
                        rule.type.fired(firing, state, now)
                state.take_changes()
    return (time.perf_counter() - started) / len(items) * 1000


def run(
    corpus: Path = DEFAULT_CORPUS, rules: int = 200, limit: int | None = None
) -> dict[str, Any]:
    items, prep_seconds = prepare(corpus, limit)
    n = len(items)
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-rules-") as tmp:
        root = Path(tmp)
        gc.collect()
        pure_ms = evaluation_only(items, root, rules)
        plain = asyncio.run(_store_all(items, root / "plain.db", None))
        typical = _variant(items, root, rules, "typical")
        stress = _variant(items, root, rules, "stress")
    prep_ms = prep_seconds / n * 1000
    store_ms = plain["seconds"] / n * 1000
    rules_ms = typical["rules_ms_per_article"]
    return {
        "articles": n,
        "parse_extract_ms_per_article": round(prep_ms, 3),
        "store_ms_per_article": round(store_ms, 3),
        "rules_evaluation_only_ms_per_article": round(pure_ms, 3),
        "typical": typical,
        "stress": stress,
        "rules_share_of_pipeline": round(rules_ms / (prep_ms + store_ms + rules_ms), 3),
        "stress_ms_per_alert": round(
            (stress["rules_ms_per_article"] - rules_ms) * n / max(1, stress["alerts"]), 3
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--limit", type=int, default=None, help="only the first N files")
    args = ap.parse_args()
    from wirewatch.logs import configure_logging

    configure_logging("json", "error")
    print(json.dumps(run(args.corpus, args.rules, args.limit), indent=2))


if __name__ == "__main__":
    main()
