"""The schema, as an ordered list of migrations.

``PRAGMA user_version`` holds how many have run; each runs once, in one
transaction with its version bump, so a crash mid-migration leaves the old
schema intact. Append only: never edit a migration that has shipped.
"""

from __future__ import annotations

from .rules import RULES_MIGRATION
from .stories import STORIES_MIGRATION

MIGRATIONS: tuple[str, ...] = (
    # 1: articles, where they were seen, files handled, quarantine, full text.
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        title TEXT NOT NULL,
        title_derived INTEGER NOT NULL,
        published TEXT,
        date_estimated INTEGER NOT NULL,
        caption TEXT,
        subheads TEXT NOT NULL,
        source_hints TEXT NOT NULL,
        url TEXT,
        format TEXT NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL,
        ingested_at TEXT NOT NULL,
        previous_version INTEGER REFERENCES articles(id)
    );
    CREATE INDEX articles_published ON articles(published);
    CREATE INDEX articles_ingested ON articles(ingested_at);
    CREATE TABLE sightings (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id),
        path TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        UNIQUE (article_id, path)
    );
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        article_id INTEGER REFERENCES articles(id),
        handled_at TEXT NOT NULL
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        moved_to TEXT,
        sha256 TEXT,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, body, content='articles', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END;
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END;
    """,
    # 2: what the extract stage found, indexed for the rules' queries.
    """
    CREATE TABLE figures (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id),
        low REAL NOT NULL,
        high REAL NOT NULL,
        text TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        qualifier_kind TEXT NOT NULL,
        unit TEXT NOT NULL,
        unit_lemma TEXT NOT NULL,
        modifiers TEXT NOT NULL,
        context TEXT NOT NULL,
        kind TEXT NOT NULL,
        currency TEXT,
        implied_unit INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        sentence TEXT NOT NULL,
        published TEXT
    );
    CREATE INDEX figures_unit ON figures(unit_lemma, published);
    CREATE INDEX figures_article ON figures(article_id);
    CREATE TABLE mentions (
        article_id INTEGER NOT NULL REFERENCES articles(id),
        term TEXT NOT NULL,
        watched INTEGER NOT NULL,
        count INTEGER NOT NULL,
        spans TEXT NOT NULL,
        published TEXT,
        PRIMARY KEY (article_id, term)
    ) WITHOUT ROWID;
    CREATE INDEX mentions_term ON mentions(term, published);
    """,
    # 3: the outbox: alerts, one delivery per alert and destination, every
    # attempt, and destinations switched off after a 410 Gone.
    """
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        rule_type TEXT NOT NULL,
        severity TEXT NOT NULL,
        created_at TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id TEXT NOT NULL REFERENCES alerts(id),
        sink TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        queued_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT,
        UNIQUE (alert_id, sink)
    );
    CREATE INDEX deliveries_due ON deliveries(sink, status, next_attempt_at);
    CREATE TABLE delivery_attempts (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
        at TEXT NOT NULL,
        status_code INTEGER,
        error TEXT,
        duration_ms REAL NOT NULL
    );
    CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id);
    CREATE TABLE sink_state (
        sink TEXT PRIMARY KEY,
        disabled INTEGER NOT NULL,
        reason TEXT,
        at TEXT NOT NULL,
        url_sha256 TEXT
    );
    """,
    # 4: the rules' state, definitions, fired fingerprints and silences.
    RULES_MIGRATION,
    # 5: story signatures, assignments, copies and sources.
    STORIES_MIGRATION,
)
