"""Which articles a rule looks at: pure matching of a scope against facts.

Compiled once per rule set (terms normalised, globs casefolded), then
checked for every rule and article, so it is kept to set lookups and a few
``fnmatch`` calls; a rule with no scope costs one attribute test.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from .config import Scope
from .facts import ArticleFacts, norm

__all__ = ["CompiledScope", "compile_scope", "in_scope"]


@dataclass(frozen=True, slots=True)
class CompiledScope:
    any_terms: frozenset[str] = frozenset()
    all_terms: tuple[frozenset[str], ...] = ()
    none_terms: frozenset[str] = frozenset()
    any_sources: tuple[str, ...] = ()
    all_sources: tuple[str, ...] = ()
    none_sources: tuple[str, ...] = ()
    any_paths: tuple[str, ...] = ()
    all_paths: tuple[str, ...] = ()
    none_paths: tuple[str, ...] = ()
    min_sources: int = 1
    always: bool = True
    """No condition at all: every article is in scope."""

    @property
    def spellings(self) -> frozenset[str]:
        """Every spelling the scope names, for the rule set's matcher."""
        return self.any_terms.union(*self.all_terms, self.none_terms)


def compile_scope(
    scope: Scope, aliases: Mapping[str, Sequence[str]] | None = None
) -> CompiledScope:
    """Normalise terms (with the rule's aliases) and casefold source globs."""
    folded = {norm(k): [norm(a) for a in v] for k, v in (aliases or {}).items()}

    def forms(term: str) -> frozenset[str]:
        key = norm(term)
        return frozenset([key, *folded.get(key, ())])

    def terms(values: Iterable[str]) -> frozenset[str]:
        return frozenset().union(*(forms(v) for v in values))

    def globs(values: Iterable[str]) -> tuple[str, ...]:
        return tuple(v.casefold() for v in values)

    compiled = CompiledScope(
        any_terms=terms(scope.any.terms),
        all_terms=tuple(forms(v) for v in scope.all.terms),
        none_terms=terms(scope.none.terms),
        any_sources=globs(scope.any.sources),
        all_sources=globs(scope.all.sources),
        none_sources=globs(scope.none.sources),
        any_paths=tuple(scope.any.paths),
        all_paths=tuple(scope.all.paths),
        none_paths=tuple(scope.none.paths),
        min_sources=scope.min_sources,
        always=False,
    )
    if compiled == CompiledScope(always=False):
        return CompiledScope()
    return compiled


def _glob_hits(value: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _source_hit(sources: tuple[str, ...], pattern: str) -> bool:
    return any(_glob_hits(s.casefold(), pattern) for s in sources)


def _path_hit(path: str, pattern: str) -> bool:
    return _glob_hits(path, pattern) or _glob_hits(PurePath(path).name, pattern)


def in_scope(scope: CompiledScope, facts: ArticleFacts) -> bool:
    """Whether every condition of ``scope`` holds for ``facts``."""
    if scope.always:
        return True
    terms = facts.terms
    if scope.any_terms and not any(t in terms for t in scope.any_terms):
        return False
    if scope.all_terms and not all(any(t in terms for t in g) for g in scope.all_terms):
        return False
    if scope.none_terms and any(t in terms for t in scope.none_terms):
        return False
    sources = facts.sources
    if scope.any_sources and not any(_source_hit(sources, p) for p in scope.any_sources):
        return False
    if scope.all_sources and not all(_source_hit(sources, p) for p in scope.all_sources):
        return False
    if scope.none_sources and any(_source_hit(sources, p) for p in scope.none_sources):
        return False
    path = facts.path
    if scope.any_paths and not any(_path_hit(path, p) for p in scope.any_paths):
        return False
    if scope.all_paths and not all(_path_hit(path, p) for p in scope.all_paths):
        return False
    if scope.none_paths and any(_path_hit(path, p) for p in scope.none_paths):
        return False
    return scope.min_sources <= 1 or facts.distinct_sources >= scope.min_sources
