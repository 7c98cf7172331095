"""Retry rules, rate limits and address checks: pure functions, no network."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from wirewatch.notify.policy import (
    RateLimiter,
    backoff,
    classify,
    discord_reset_after,
    parse_retry_after,
    retry_delay,
)
from wirewatch.notify.safety import (
    AddressRefused,
    address_kind,
    host_allowed,
    resolve_checked,
)

NOW = datetime(2022, 2, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        (200, "sent"),
        (202, "sent"),
        (204, "sent"),
        (301, "failed"),
        (302, "failed"),
        (308, "failed"),
        (400, "failed"),
        (401, "failed"),
        (403, "failed"),
        (404, "failed"),
        (408, "retry"),
        (410, "disable"),
        (413, "failed"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
    ],
)
def test_classify(code: int, verdict: str) -> None:
    assert classify(code) == verdict


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("3", NOW) == 3.0
    assert parse_retry_after(" 1.5 ", NOW) == 1.5
    assert parse_retry_after("-4", NOW) == 0.0
    when = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(when, NOW) == 90.0
    past = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0
    for junk in (None, "", "soon", "nan"):
        assert parse_retry_after(junk, NOW) is None


def test_discord_bucket_headers() -> None:
    assert discord_reset_after(
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "1.25"}
    ) == (1.25)
    assert (
        discord_reset_after({"x-ratelimit-remaining": "3", "x-ratelimit-reset-after": "1"}) is None
    )
    assert discord_reset_after({}) is None
    assert (
        discord_reset_after({"x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "x"}) is None
    )


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    rng = random.Random(7)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (10, 60.0), (500, 60.0)):
        samples = [backoff(attempt, 1.0, 60.0, rng) for _ in range(300)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8 and min(samples) < ceiling * 0.2, "spread out"


def test_retry_after_is_a_floor_under_the_backoff() -> None:
    rng = random.Random(1)
    assert all(retry_delay(1, 3.0, base=0.01, cap=0.1, rng=rng) == 3.0 for _ in range(50))
    assert all(retry_delay(9, 0.5, base=10, cap=20, rng=rng) >= 0.5 for _ in range(50))
    assert retry_delay(1, None, base=0.01, cap=0.1, rng=rng) <= 0.01


def test_rate_limiter_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=2.5, burst=5)  # Discord: 5 per 2 seconds
    t = 100.0
    for _ in range(5):
        assert limiter.delay(t) == 0.0
        limiter.take(t)
    assert limiter.delay(t) == pytest.approx(0.4)
    assert limiter.delay(t + 0.4) == pytest.approx(0.0)
    limiter.hold_until(t + 10)
    assert limiter.delay(t + 1) == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_allowed_hosts() -> None:
    assert host_allowed("anything.example", [])
    assert host_allowed("hooks.slack.com", ["hooks.slack.com"])
    assert host_allowed("HOOKS.slack.com.", ["hooks.slack.com"])
    assert host_allowed("prod-1.logic.azure.com", ["*.logic.azure.com"])
    assert not host_allowed("logic.azure.com", ["*.logic.azure.com"])
    assert not host_allowed("evilhooks.slack.com", ["hooks.slack.com"])


async def test_a_name_is_checked_on_the_address_it_resolves_to() -> None:
    with pytest.raises(
        AddressRefused, match=r"localhost resolves to 127\.0\.0\.1, a loopback address"
    ):
        await resolve_checked("localhost", 80, allow_private=False)
    assert "127.0.0.1" in await resolve_checked("localhost", 80, allow_private=True)
    assert await resolve_checked("127.0.0.1", 80, allow_private=True) == ["127.0.0.1"]
    with pytest.raises(AddressRefused, match=r"169\.254\.169\.254 is a link-local"):
        await resolve_checked("169.254.169.254", 80, allow_private=False)
    with pytest.raises(OSError, match="cannot resolve"):
        await resolve_checked("no-such-host.invalid", 80, allow_private=False)
