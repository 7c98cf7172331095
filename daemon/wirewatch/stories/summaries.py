"""The stories as the rules name them, kept in memory by the stage that writes them.

The rules stage asks, for every stored article, its story's id, title and
distinct sources ("3 outlets report X"). Answered from the store, that is
a flush of the placements held back and a join over the story's articles
and their sources: two round trips to the database thread per article,
inside the writer's transaction, where the pipeline is serial. Yet every
change to those answers is made by the stories stage itself (stories are
opened, joined, seen again from a new source, renamed and merged by it
alone), so the stage can keep them as it makes them.

:class:`KnownStories` is that mirror: it holds what
:func:`~wirewatch.store.stories.story_summary_row` would return, for the
stories the stage touched lately (least recently used ones are dropped, so
memory stays bounded), each source with the time it was first seen, so
the sources come out in the store's order (first seen, then name). What
the stage cannot mirror exactly (a merge; a story renamed after another
of its articles) is dropped and read from the store again when next
asked. After a rollback the stage clears it, like the hot window.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class StorySummary:
    """A story as an alert names it: id, title and the distinct sources so far."""

    id: int
    title: str
    sources: tuple[str, ...]
    articles: int = 0


@dataclass(slots=True)
class _Known:
    title: str
    articles: int
    first_seen: dict[str, str] = field(default_factory=dict)
    """Source → when the story first had it (ISO time, as the store writes it)."""
    _summary: StorySummary | None = None

    def saw(self, source: str, at: str) -> None:
        was = self.first_seen.get(source)
        if was is None or at < was:
            self.first_seen[source] = at
            self._summary = None

    def add_article(self, source: str, at: str) -> None:
        self.articles += 1
        self._summary = None
        self.saw(source, at)

    def retitle(self, title: str) -> None:
        self.title = title
        self._summary = None

    def summary(self, story_id: int) -> StorySummary:
        if self._summary is None:
            order = sorted(self.first_seen.items(), key=lambda kv: (kv[1], kv[0]))
            self._summary = StorySummary(
                story_id, self.title, tuple(s for s, _ in order), self.articles
            )
        return self._summary


class KnownStories:
    """Story id → what the store would say of it, for the stories touched lately."""

    def __init__(self, limit: int = _LIMIT) -> None:
        self.limit = limit
        self._stories: OrderedDict[int, _Known] = OrderedDict()

    def __len__(self) -> int:
        return len(self._stories)

    def get(self, story_id: int) -> StorySummary | None:
        known = self._stories.get(story_id)
        if known is None:
            return None
        self._stories.move_to_end(story_id)
        return known.summary(story_id)

    def seed(
        self, story_id: int, title: str, articles: int, sources: Iterable[tuple[str, str]]
    ) -> StorySummary:
        """The story as read from the store: its title, article count and
        (source, first seen) pairs."""
        known = _Known(title, articles, dict(sources))
        self._put(story_id, known)
        return known.summary(story_id)

    def opened(self, story_id: int, title: str, source: str, at: str) -> None:
        """A new story, opened by its first article (titled after it)."""
        self._put(story_id, _Known(title, 1, {source: at}))

    def joined(self, story_id: int, source: str, at: str) -> None:
        """An article joined the story (known only if the story is)."""
        known = self._stories.get(story_id)
        if known is not None:
            known.add_article(source, at)

    def sighted(self, story_id: int, source: str, at: str) -> None:
        """One of the story's articles seen again, from a source new to that article."""
        known = self._stories.get(story_id)
        if known is not None:
            known.saw(source, at)

    def retitled(self, story_id: int, title: str) -> None:
        known = self._stories.get(story_id)
        if known is not None:
            known.retitle(title)

    def forget(self, story_ids: Iterable[int]) -> None:
        for story_id in story_ids:
            self._stories.pop(story_id, None)

    def clear(self) -> None:
        self._stories.clear()

    def _put(self, story_id: int, known: _Known) -> None:
        self._stories[story_id] = known
        self._stories.move_to_end(story_id)
        while len(self._stories) > self.limit:
            self._stories.popitem(last=False)
