"""The rules stage: every article through every rule, inside the article's transaction.

:class:`RulesStage` is an :class:`~wirewatch.store.ArticleHook`. For each
new article it takes *one* reference to the current :class:`RuleSet` (so a
reload never mixes old and new rules for an article), builds the facts
once, runs every rule in scope, and for each firing applies, in order:

1. the fingerprint (rule, key, value): claimed once, never fired again;
2. silences (``wirewatch silence``): the firing is claimed but muted;
3. the rule's cooldown (``realert``, ``exponential_realert``): dropped,
   and the rule type does not remember it, so it can fire later;
4. ``group_wait``: held back to be sent with the rule's other alerts;

then renders the alert and hands it to the outbox, all on the writer's
connection, so the article, the rules' new state and the alert commit
together or not at all.

State is cached in memory (loaded once, written back row by row as it
changes) and dropped whenever a transaction rolls back, so memory never
runs ahead of the database.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiosqlite

from ..logs import get_logger
from ..models import Alert, ArticleRef
from ..store.articles import RecordToStore
from ..store.base import utcnow
from ..store.rules import PendingGroup, RulesMixin, Silence, StoredDefinition
from .facts import ArticleFacts, StoryInfo, build_facts
from .fired import FiredSet, Seen
from .loader import CompiledRule, RuleSet
from .render import DEFAULT_MESSAGES, DEFAULT_TITLES, Template
from .scope import in_scope
from .types import Firing, RuleState, next_alert_time

__all__ = ["AlertSink", "Clock", "RulesStage", "RulesStats", "StoryLookup", "SwapReport"]

log = get_logger(__name__)

Clock = Callable[[], datetime]
StoryLookup = Callable[[aiosqlite.Connection, int], Awaitable[StoryInfo | None]]
"""The story of a stored article (id, title, distinct sources so far), or None."""


class AlertSink(Protocol):
    """Where alerts go: the outbox, inside the caller's transaction.

    Returns False when an alert with the same fingerprint is already there.
    """

    async def enqueue_alert(
        self, db: aiosqlite.Connection, alert: Alert, sinks: Sequence[str]
    ) -> bool: ...


@dataclass
class RulesStats:
    """Running totals for metrics and ``/status``."""

    articles: int = 0
    seconds: float = 0.0
    last_seconds: float = 0.0
    firings: int = 0
    alerts: int = 0
    duplicates: int = 0
    silenced: int = 0
    suppressed: int = 0
    errors: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


@dataclass
class SwapReport:
    """What a swap did to each rule's state."""

    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def fingerprint(rule: str, key: str, value: str, tracking: str = "") -> str:
    """The identity of an alert: the same (rule, key, value) never fires twice.

    ``tracking`` is the hash of what the rule tracks: a rule whose tracked
    key was redefined (and its state reset) is a new rule for this purpose,
    so its first alerts are not mistaken for the old definition's.
    """
    return hashlib.sha256(f"{rule}\0{tracking}\0{key}\0{value}".encode()).hexdigest()[:32]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="seconds")


def _article_dict(facts: ArticleFacts) -> dict[str, Any]:
    return {
        "id": facts.article_id,
        "title": facts.title,
        "source": facts.source,
        "path": facts.path,
        "url": facts.url,
        "published": _iso(facts.published),
    }


def _ref(a: dict[str, Any]) -> ArticleRef:
    return ArticleRef(
        id=int(a["id"]),
        title=a["title"],
        source=a["source"],
        path=a["path"],
        url=a.get("url"),
        published=datetime.fromisoformat(a["published"]) if a.get("published") else None,
    )


class RulesStage:
    """Evaluates the current rule set per article; an ArticleHook.

    ``store`` gives the rules' tables (and transactions for :meth:`swap`
    and :meth:`tick`); ``sink`` takes alerts inside the transaction (the
    outbox). ``story_lookup`` tells the story of an article (the stories
    hook must run before this one in the same transaction); ``on_alert``
    and ``on_timing`` (seconds per article) feed metrics. Call
    :meth:`start` once before the first article.
    """

    def __init__(
        self,
        store: RulesMixin,
        sink: AlertSink,
        ruleset: RuleSet,
        *,
        clock: Clock = utcnow,
        story_lookup: StoryLookup | None = None,
        on_alert: Callable[[Alert], None] | None = None,
        on_timing: Callable[[float], None] | None = None,
        gc_interval: timedelta = timedelta(minutes=10),
    ) -> None:
        self._store = store
        self._sink = sink
        self._ruleset = ruleset
        self._clock = clock
        self._story_lookup = story_lookup
        self._on_alert = on_alert
        self._on_timing = on_timing
        self._gc_interval = gc_interval
        self._next_gc: datetime | None = None
        self._cache: dict[tuple[str, str], RuleState] | None = None
        self._pending: dict[str, PendingGroup] = {}
        self._touched: set[tuple[str, str]] = set()
        self._silence_cache: tuple[float, int, list[Silence]] | None = None
        self._fired = FiredSet()
        self._claims: list[tuple[str, str, str, str, str, datetime]] = []
        self.stats = RulesStats()
        self.started = False

    @property
    def ruleset(self) -> RuleSet:
        return self._ruleset

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> SwapReport:
        """Apply the initial rule set's definitions (keeping or resetting state)."""
        report = await self.swap(self._ruleset)
        self.started = True
        return report

    async def swap(self, ruleset: RuleSet) -> SwapReport:
        """Make ``ruleset`` current, atomically, deciding each rule's state.

        Runs in a write transaction of its own, so no article is being
        evaluated meanwhile; the new set takes over only once its state
        decisions have committed. A rule whose tracked key (see
        ``RuleType.tracking``) is unchanged keeps its state; otherwise it
        starts afresh. Removed rules keep their state for their return.
        """
        now = self._clock()
        report = SwapReport()
        async with self._store.rules_transaction() as db:
            try:
                await self._ensure_loaded(db)
                stored = await self._store.load_rule_definitions(db)
                for rule in ruleset.rules:
                    await self._apply_definition(db, rule, stored.get(rule.name), report, now)
                names = set(ruleset.names)
                for name, sd in stored.items():
                    if sd.active and name not in names:
                        await self._store.deactivate_rule(db, name, now)
                        report.removed.append(name)
                        log.info("rule_removed", rule=name, state="kept for its return")
                await self._flush(db, now)
            except BaseException:
                self._invalidate()
                raise
        self._ruleset = ruleset
        log.info(
            "rules_applied",
            rules=len(ruleset),
            added=len(report.added),
            kept=len(report.kept),
            reset=len(report.reset),
            unchanged=len(report.unchanged),
            removed=len(report.removed),
        )
        return report

    async def _apply_definition(
        self,
        db: aiosqlite.Connection,
        rule: CompiledRule,
        sd: StoredDefinition | None,
        report: SwapReport,
        now: datetime,
    ) -> None:
        name = rule.name
        if sd is None:
            await self._store.reset_rule(db, name)
            self._drop(name)
            report.added.append(name)
            log.info("rule_added", rule=name, type=rule.config.type, file=str(rule.file))
        elif sd.tracking_hash != rule.tracking_hash:
            changed = sorted(
                k
                for k in set(sd.tracking) | set(rule.tracking)
                if sd.tracking.get(k) != rule.tracking.get(k)
            )
            await self._store.reset_rule(db, name)
            self._drop(name)
            report.reset.append(name)
            log.warning(
                "rule_state_reset",
                rule=name,
                reason="tracked key changed",
                changed=changed,
                file=str(rule.file),
            )
        elif sd.definition_hash != rule.definition_hash or not sd.active:
            report.kept.append(name)
            log.info(
                "rule_state_kept",
                rule=name,
                reason="definition changed, tracked key unchanged",
                file=str(rule.file),
            )
        else:
            report.unchanged.append(name)
        rule.type.activate(self._state(name, "state"), now)
        if name not in report.unchanged:
            await self._store.save_rule_definition(
                db,
                name,
                rule.config.type,
                rule.tracking_hash,
                rule.tracking,
                rule.definition_hash,
                now,
            )

    # -- the ArticleHook ---------------------------------------------------------
    def article_inserted(self, article_id: int, record: RecordToStore, path: str) -> None:
        """Nothing to start ahead: the rules are cheap and need the story first."""

    async def article_stored(
        self, db: aiosqlite.Connection, article_id: int, record: RecordToStore, path: str
    ) -> None:
        rs = self._ruleset
        if not rs.rules:
            return
        started = time.perf_counter()
        await self._ensure_loaded(db)
        now = self._clock()
        story = await self._story_lookup(db, article_id) if self._story_lookup else None
        facts = build_facts(
            article_id,
            record.article,
            record.figures,
            record.mentions,
            path,
            now,
            story,
            rs.matcher,
        )
        await self.evaluate(db, rs, facts, now)
        elapsed = time.perf_counter() - started
        self.stats.articles += 1
        self.stats.seconds += elapsed
        self.stats.last_seconds = elapsed
        if self._on_timing is not None:
            self._on_timing(elapsed)

    async def article_seen_again(
        self, db: aiosqlite.Connection, article_id: int, record: RecordToStore, path: str
    ) -> None:
        """The same bytes again: nothing new to judge, so nothing fires."""

    async def before_commit(self, db: aiosqlite.Connection) -> None:
        """Nothing held back: alerts and state are written as they happen."""

    def rolled_back(self) -> None:
        self._invalidate()

    async def evaluate(
        self, db: aiosqlite.Connection, rs: RuleSet, facts: ArticleFacts, now: datetime
    ) -> None:
        """Run every rule of ``rs`` in scope on ``facts`` (inside the caller's transaction)."""
        await self._ensure_loaded(db)
        for rule in rs.rules:
            if not in_scope(rule.scope, facts):
                continue
            state = self._state(rule.name, "state")
            try:
                firings = rule.type.observe(facts, state, now)
            except Exception as exc:
                # A bug in one rule must not hold every article back.
                self.stats.errors += 1
                log.error("rule_failed", rule=rule.name, error=repr(exc), exc_info=True)
                continue
            for firing in firings:
                await self._handle(db, rule, firing, state, now)
        await self._flush(db, now)

    # -- time ----------------------------------------------------------------------
    async def tick(self, now: datetime | None = None) -> int:
        """Time-based work: flatline rules, due ``group_wait`` batches, garbage collection.

        Called by the service every few seconds; cheap when there is nothing
        to do (no transaction is opened). Returns the alerts sent.
        """
        now = self._clock() if now is None else now
        if self._next_gc is None:
            self._next_gc = now + self._gc_interval
        gc_due = now >= self._next_gc
        if self._cache is not None and not gc_due:
            due = any(g.due_at <= now for g in self._pending.values())
            if not due and not self._tick_candidates(self._ruleset, now):
                return 0
        before = self.stats.alerts
        async with self._store.rules_transaction() as db:
            try:
                await self._ensure_loaded(db)
                rs = self._ruleset
                for name in [n for n, g in self._pending.items() if g.due_at <= now]:
                    await self._flush_group(db, rs, name, now)
                for rule in rs.rules:
                    if rule.type.ticks:
                        state = self._state(rule.name, "state")
                        for firing in rule.type.tick(state, now):
                            await self._handle(db, rule, firing, state, now)
                if gc_due:
                    self._garbage_collect(rs, now)
                    self._next_gc = now + self._gc_interval
                await self._flush(db, now)
            except BaseException:
                self._invalidate()
                raise
        return self.stats.alerts - before

    def _tick_candidates(self, rs: RuleSet, now: datetime) -> bool:
        assert self._cache is not None
        for rule in rs.rules:
            if rule.type.ticks:
                state = self._cache.get((rule.name, "state"))
                if state is not None and rule.type.tick(state, now):
                    return True
        return False

    def _garbage_collect(self, rs: RuleSet, now: datetime) -> None:
        for rule in rs.rules:
            rule.type.garbage_collect(self._state(rule.name, "state"), now)
            cooldown = rule.config.exponential_realert or rule.config.realert
            realert = self._state(rule.name, "realert")
            for key in list(realert.rows):
                row = realert.rows[key]
                if datetime.fromisoformat(row["until"]) + 2 * cooldown < now:
                    realert.delete(key)

    # -- state cache ---------------------------------------------------------------
    def _invalidate(self) -> None:
        self._cache = None
        self._pending = {}
        self._touched = set()
        self._fired = FiredSet()
        self._claims = []

    def _drop(self, rule: str) -> None:
        if self._cache is not None:
            for kind in ("state", "realert"):
                self._cache.pop((rule, kind), None)
                self._touched.discard((rule, kind))
        self._pending.pop(rule, None)

    async def _ensure_loaded(self, db: aiosqlite.Connection) -> None:
        if self._cache is not None:
            return
        cache: dict[tuple[str, str], dict[str, Any]] = {}
        for row in await self._store.load_rule_state(db):
            cache.setdefault((row.rule, row.kind), {})[row.key] = row.state
        self._cache = {k: RuleState(v) for k, v in cache.items()}
        self._pending = {g.rule: g for g in await self._store.load_pending(db)}
        self._fired = FiredSet(await self._store.load_fingerprint_prefixes(db))
        self._claims = []
        self._touched = set()

    def _state(self, rule: str, kind: str) -> RuleState:
        assert self._cache is not None
        key = (rule, kind)
        state = self._cache.get(key)
        if state is None:
            state = self._cache[key] = RuleState()
        self._touched.add(key)
        return state

    async def _flush(self, db: aiosqlite.Connection, now: datetime) -> None:
        if self._cache is None:
            return
        upserts: list[tuple[str, str, str, dict[str, Any]]] = []
        deletes: list[tuple[str, str, str]] = []
        for rule, kind in self._touched:
            state = self._cache.get((rule, kind))
            if state is None or not (state.dirty or state.deleted):
                continue
            changed, deleted = state.take_changes()
            upserts.extend((rule, kind, k, v) for k, v in changed.items())
            deletes.extend((rule, kind, k) for k in deleted)
        self._touched = set()
        if self._claims:
            await self._store.save_claims(db, self._claims)
            self._claims = []
            self._fired.merge()
        if upserts or deletes:
            await self._store.save_rule_state(db, upserts, deletes, now)

    # -- one firing ----------------------------------------------------------------
    async def _silences(self, db: aiosqlite.Connection, now: datetime) -> list[Silence]:
        """Silences in force, as of at most a second ago.

        ``wirewatch silence`` writes them from another process, so they are
        re-read, but only when something fires and at most once a second
        (or at once after this process changed them).
        """
        cached = self._silence_cache
        tick = time.monotonic()
        generation = self._store.silences_generation
        if cached is None or tick - cached[0] > 1.0 or cached[1] != generation:
            cached = (tick, generation, await self._store.active_silences(db, now))
            self._silence_cache = cached
        return [s for s in cached[2] if s.active(now)]

    async def _has_fired(self, db: aiosqlite.Connection, fp: str) -> bool:
        """Whether ``fp`` fired before: from memory, or (rarely) confirmed by the store."""
        seen = self._fired.seen(fp)
        if seen is Seen.ASK:
            return await self._store.fingerprint_claimed(db, fp)
        return seen is Seen.YES

    async def _claim(
        self,
        db: aiosqlite.Connection,
        fp: str,
        rule: str,
        firing: Firing,
        status: str,
        now: datetime,
    ) -> bool:
        """Claim a fingerprint (written with the state); False if it fired before.

        Every fingerprint ever fired is known in memory in eight bytes
        (:mod:`.fired`), so checking a new one costs no query; claims are
        written in one statement per article.
        """
        if await self._has_fired(db, fp):
            return False
        self._fired.add(fp)
        self._claims.append((fp, rule, firing.key, firing.value, status, now))
        return True

    async def _handle(
        self,
        db: aiosqlite.Connection,
        rule: CompiledRule,
        firing: Firing,
        state: RuleState,
        now: datetime,
    ) -> None:
        name = rule.name
        if firing.repeat:
            if name in self._pending:
                fp = fingerprint(name, firing.key, firing.value, rule.tracking_hash)
                await self._add_source_to_pending(db, name, fp, firing)
            return
        fp = fingerprint(name, firing.key, firing.value, rule.tracking_hash)
        self.stats.firings += 1
        cfg = rule.config
        realert = self._state(name, "realert")
        previous = realert.get(firing.key)
        silence = next(
            (s for s in await self._silences(db, now) if s.matches(name, firing.key)), None
        )
        cooling = previous is not None and datetime.fromisoformat(previous["until"]) > now
        if (
            silence is None
            and cfg.realert > timedelta(0)
            and cooling
            and not await self._has_fired(db, fp)
        ):
            # In its cooldown: dropped, and not remembered, so it can come back.
            assert previous is not None
            self.stats.suppressed += 1
            log.debug("alert_suppressed", rule=name, key=firing.key, until=previous["until"])
            return
        status = "silenced" if silence is not None else "fired"
        if not await self._claim(db, fp, name, firing, status, now):
            # Already alerted: another copy of the same change. The type
            # learns it (its state may predate the alert), and a batch still
            # waiting in group_wait gets this source added.
            rule.type.fired(firing, state, now)
            self.stats.duplicates += 1
            await self._add_source_to_pending(db, name, fp, firing)
            return
        rule.type.fired(firing, state, now)
        if silence is not None:
            self.stats.silenced += 1
            log.info("alert_silenced", rule=name, key=firing.key, silence=silence.id)
            return
        if cfg.realert > timedelta(0):
            until, exponent = next_alert_time(previous, now, cfg.realert, cfg.exponential_realert)
            realert.set(firing.key, {"until": until.isoformat(), "exponent": exponent})
        record = self._record(rule, firing, fp, now)
        if cfg.group_wait > timedelta(0):
            await self._add_pending(db, rule, record, now)
        else:
            await self._emit(db, rule, [record], now)

    def _record(self, rule: CompiledRule, firing: Firing, fp: str, now: datetime) -> dict[str, Any]:
        """A firing as plain JSON, so a held-back batch survives a restart."""
        facts = firing.facts
        if firing.sources is not None:
            sources = list(firing.sources)
        else:
            sources = list(facts.story_sources) if facts else []
        story = None
        if facts is not None and facts.story is not None:
            story = {
                "id": facts.story.id,
                "title": facts.story.title,
                "sources": list(facts.story.sources),
            }
        return {
            "fingerprint": fp,
            "key": firing.key,
            "value": firing.value,
            "reason": firing.reason,
            "fields": dict(firing.fields),
            "old_value": firing.old_value,
            "new_value": firing.new_value,
            "sentence": firing.sentence,
            "article": _article_dict(facts) if facts else None,
            "articles": [_article_dict(facts)] if facts else [],
            "story": story,
            "sources": sources,
            "at": now.isoformat(timespec="seconds"),
        }

    # -- group_wait ----------------------------------------------------------------
    async def _add_pending(
        self, db: aiosqlite.Connection, rule: CompiledRule, record: dict[str, Any], now: datetime
    ) -> None:
        group = self._pending.get(rule.name)
        if group is None:
            group = PendingGroup(rule.name, now + rule.config.group_wait, {"records": []})
            self._pending[rule.name] = group
        group.payload["records"].append(record)
        await self._store.save_pending(db, rule.name, group.due_at, group.payload)

    async def _add_source_to_pending(
        self, db: aiosqlite.Connection, rule: str, fp: str, firing: Firing
    ) -> None:
        group = self._pending.get(rule)
        facts = firing.facts
        if group is None or facts is None:
            return
        for record in group.payload["records"]:
            if record["fingerprint"] != fp:
                continue
            changed = False
            for source in facts.story_sources:
                if source and source not in record["sources"]:
                    record["sources"].append(source)
                    changed = True
            if all(a["id"] != facts.article_id for a in record["articles"]):
                record["articles"].append(_article_dict(facts))
                changed = True
            if changed:
                await self._store.save_pending(db, rule, group.due_at, group.payload)
            return

    async def _flush_group(
        self, db: aiosqlite.Connection, rs: RuleSet, name: str, now: datetime
    ) -> None:
        group = self._pending.pop(name)
        await self._store.delete_pending(db, name)
        rule = rs.get(name)
        records = group.payload.get("records", [])
        if rule is None:
            log.warning("alert_group_dropped", rule=name, alerts=len(records), reason="rule gone")
            return
        if records:
            await self._emit(db, rule, records, now)

    # -- alerts ----------------------------------------------------------------------
    def _context(self, rule: CompiledRule, record: dict[str, Any], now: datetime) -> dict[str, Any]:
        cfg = rule.config
        article = record.get("article")
        sources = record.get("sources") or []
        story = record.get("story") or {}
        fields = record.get("fields", {})
        return {
            **fields,
            "rule_type": cfg.type,
            "story_id": story.get("id"),
            "story_title": story.get("title"),
            "articles": record.get("articles", []),
            "outlets": len(sources),
            "window": fields.get("timeframe"),
            "rule": cfg.name,
            "type": cfg.type,
            "severity": cfg.severity,
            "description": cfg.description,
            "labels": dict(cfg.labels),
            "reason": record["reason"],
            "key": record["key"],
            "value": record["value"],
            "old_value": record.get("old_value"),
            "new_value": record.get("new_value"),
            "now": now.isoformat(timespec="seconds"),
            "article": article,
            "source": (article or {}).get("source") or (sources[0] if sources else ""),
            "sources": sources,
            "story": record.get("story"),
            "sentence": record.get("sentence"),
        }

    def _render(
        self, rule: CompiledRule, template: Template, default: str, ctx: dict[str, Any]
    ) -> str:
        try:
            return template.render(ctx)
        except Exception as exc:
            log.warning("alert_template_failed", rule=rule.name, error=str(exc))
            try:
                return Template(default).render(ctx)
            except Exception:
                return f"{rule.name}: {ctx.get('reason')} {ctx.get('new_value') or ''}".strip()

    def build_alert(
        self, rule: CompiledRule, records: Sequence[dict[str, Any]], now: datetime
    ) -> Alert:
        """One alert for one firing, or for a batch held back by ``group_wait``."""
        cfg = rule.config
        parts = []
        for record in records:
            ctx = self._context(rule, record, now)
            title = self._render(rule, rule.title, DEFAULT_TITLES[cfg.type], ctx)
            body = self._render(rule, rule.message, DEFAULT_MESSAGES[cfg.type], ctx)
            parts.append((title, body))
        first = records[0]
        if len(records) == 1:
            title, body = parts[0]
            fp = first["fingerprint"]
        else:
            title = f"{cfg.name}: {len(records)} alerts"
            body = "\n\n".join(f"• {t}\n{b}" if b else f"• {t}" for t, b in parts)
            fp = hashlib.sha256(
                "\0".join(sorted(r["fingerprint"] for r in records)).encode()
            ).hexdigest()[:32]
        sources: list[str] = []
        articles: dict[int, ArticleRef] = {}
        for record in records:
            sources += [s for s in record.get("sources", []) if s not in sources]
            for a in record.get("articles", []):
                articles.setdefault(int(a["id"]), _ref(a))
        keys = {r["key"] for r in records}
        story = first.get("story") or {}
        return Alert(
            id=str(uuid.uuid4()),
            fingerprint=fp,
            rule=cfg.name,
            rule_type=cfg.type,
            severity=cfg.severity,
            title=title,
            body=body,
            created_at=now,
            key=first["key"] if len(keys) == 1 else "",
            old_value=first.get("old_value") if len(records) == 1 else None,
            new_value=first.get("new_value") if len(records) == 1 else None,
            sentence=first.get("sentence") if len(records) == 1 else None,
            story_id=story.get("id"),
            story_title=story.get("title"),
            sources=tuple(sources),
            articles=tuple(articles.values()),
            destinations=rule.destinations,
            labels=tuple(sorted({**cfg.labels, "reason": first["reason"]}.items())),
        )

    async def _emit(
        self,
        db: aiosqlite.Connection,
        rule: CompiledRule,
        records: Sequence[dict[str, Any]],
        now: datetime,
    ) -> None:
        alert = self.build_alert(rule, records, now)
        if not await self._sink.enqueue_alert(db, alert, rule.destinations):
            self.stats.duplicates += 1
            return
        self.stats.alerts += 1
        self.stats.by_rule[rule.name] = self.stats.by_rule.get(rule.name, 0) + 1
        log.info(
            "alert_queued",
            rule=rule.name,
            type=rule.config.type,
            key=alert.key,
            title=alert.title,
            destinations=list(rule.destinations),
            alert_id=alert.id,
        )
        if self._on_alert is not None:
            self._on_alert(alert)
