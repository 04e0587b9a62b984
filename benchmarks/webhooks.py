"""Incoming webhooks against a v2 post (issue 13: target <= 1.3x), ratios in one run.

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/webhooks.py [--posts 40] [--rounds 5] [--keepdb]

Each door's incoming URL posts one text message into the same kind of channel as
``POST /api/v2/message`` (an admin access token): Rocket.Chat's ``/hooks/{id}/{token}``,
Stackfield's ``/apiwh/<uuid>`` (a chat-message URL) and the messaging API's
``/api/messaging/webhooks/{id}/{token}``. Django's test client in this process, DEBUG off,
the broker kept out (as benchmarks/messaging.py, whose helpers this uses), ``--rounds``
rounds of ``--posts`` posts per door, the doors' order rotating; the median per post and
the statements per post. The per-URL rate limit stays on (its guarded UPDATE is part of
the cost) with an interval short enough for back-to-back posts; the double-request check
stays on (every body differs). Scratch database as benchmarks/messaging.py.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django.conf import settings
from django.db import connection
from django.test.utils import setup_databases, teardown_databases
from django.utils import timezone
from messaging import no_task_dispatch, organization, statements
from rest_framework.test import APIClient

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.integrations.models import Integration
from apps.integrations.services.integrations import integration_create
from apps.members.models import Member
from apps.organizations.services import organization_token_issue

TARGET = 1.3


def _doors(args: argparse.Namespace) -> dict[str, Callable[[str], None]]:
    """door name -> post(text), each into its own channel of one organization."""
    org, _ = organization("bench-webhooks")
    stamp = time.time_ns()
    system = Actor.system()

    def channel(name: str) -> Channel:
        return Channel.objects.create(
            organization=org, channel_id=f"{name}-{stamp}", visibility="public"
        )

    v2_channel = channel("v2")
    poster = Member.objects.create(organization=org, user_id=f"poster-{stamp}")
    Membership.objects.create(
        organization=org, channel=v2_channel, member=poster, joined_at=timezone.now()
    )
    account = Account.objects.create_user(
        email=f"bench-{stamp}@chatadmin.test", password="bench-pass-123"
    )
    token = organization_token_issue(
        organization=org, actor=system, name="bench", account=account
    ).raw
    v2 = APIClient()
    v2.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    plain = APIClient()

    def create(flavor: str, kind: str, target: Channel) -> tuple[Integration, str]:
        fields = {"targets": [f"#{target.channel_id}"]} if flavor == "rocketchat" else {}
        if flavor != "rocketchat":
            fields["channel"] = target
        issued = integration_create(
            organization=org,
            actor=system,
            flavor=flavor,
            direction="incoming",
            kind=kind,
            username=f"{flavor}-bot-{stamp}",
            **fields,
        )
        return issued.integration, issued.token or ""

    rc, rc_token = create("rocketchat", "message", channel("rc"))
    _, sf_token = create("stackfield", "chat-message", channel("sf"))
    mw, mw_token = create("messaging", "message", channel("mw"))

    def check(response, name: str, ok: tuple[int, ...]) -> None:  # type: ignore[no-untyped-def]
        if response.status_code not in ok:
            raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")

    def post_v2(text: str) -> None:
        body = {"channelId": v2_channel.channel_id, "type": "text", "data": {"text": text}}
        check(v2.post("/api/v2/message", body, format="json"), "v2", (201,))

    def post_rc(text: str) -> None:
        url = f"/hooks/{rc.pk}/{rc_token}"
        check(plain.post(url, {"text": text}, format="json"), "rocketchat", (200,))

    def post_sf(text: str) -> None:
        check(
            plain.post(f"/apiwh/{sf_token}", {"Title": text}, format="json"), "stackfield", (200,)
        )

    def post_mw(text: str) -> None:
        url = f"/api/messaging/webhooks/{mw.pk}/{mw_token}"
        check(plain.post(url, {"content": text}, format="json"), "messaging", (200, 201))

    return {"v2": post_v2, "rocketchat": post_rc, "stackfield": post_sf, "messaging": post_mw}


def bench(args: argparse.Namespace) -> None:
    doors = _doors(args)
    counter = itertools.count()

    def runner(fn: Callable[[str], None]) -> Callable[[], None]:
        return lambda: fn(f"benchmark message {next(counter)} with a few ordinary words")

    runs: dict[str, list[float]] = {name: [] for name in doors}
    with no_task_dispatch():
        for fn in list(doors.values()) * 5:  # warm up every path
            runner(fn)()
        counts = {name: statements(runner(fn)) for name, fn in doors.items()}
        names = list(doors)
        for n in range(args.rounds):
            order = names[n % len(names) :] + names[: n % len(names)]
            for name in order:
                fn = runner(doors[name])
                for _ in range(args.posts):
                    started = time.perf_counter()
                    fn()
                    runs[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(times) * 1000 for name, times in runs.items()}
    base = medians["v2"]
    print(f"\n{args.rounds} rounds of {args.posts} posts per door, the order rotating")
    for name in names:
        ratio = medians[name] / base
        target = "" if name == "v2" else f"   (target <= {TARGET})"
        print(
            f"  {name:<11} {medians[name]:7.2f} ms  {counts[name]:>2} statements  "
            f"ratio {ratio:5.2f}{target}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=40, help="posts per door per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keepdb", action="store_true", help="keep (and reuse) the scratch DB")
    args = parser.parse_args()

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The per-URL limit stays on (its UPDATE is part of a post) but admits back-to-back posts.
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 1e-6}
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="No directory at")
    started = time.perf_counter()
    old_config = setup_databases(
        verbosity=0, interactive=False, keepdb=args.keepdb, serialized_aliases=set()
    )
    try:
        print(f"database: {connection.vendor}, scratch {connection.settings_dict['NAME']!r}")
        bench(args)
    finally:
        if not args.keepdb:
            teardown_databases(old_config, verbosity=0)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
