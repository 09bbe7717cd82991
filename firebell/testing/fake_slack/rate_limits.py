"""Slack's rate limit for each Web API method (its documented tiers) and the token bucket the
fake keeps per method, or per method and channel."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs


@attrs.frozen
class MethodLimit:
    """Slack's rate limit for one Web API method: a token bucket of ``burst`` refilled evenly.

    ``per_minute`` is the sustained rate; ``burst`` how many calls may go at once from a full
    bucket; ``per_channel`` keeps one bucket per ``channel`` argument (``chat.postMessage``).
    """

    per_minute: float
    burst: int
    per_channel: bool = False


# Slack documents tiers as "N+ per minute" with bursts tolerated but unquantified; the fake lets a
# full minute's quota go at once and then refills it evenly.
TIER_1 = MethodLimit(per_minute=1, burst=1)
TIER_2 = MethodLimit(per_minute=20, burst=20)
TIER_3 = MethodLimit(per_minute=50, burst=50)
TIER_4 = MethodLimit(per_minute=100, burst=100)
# "1 per second per channel, short bursts >1 allowed": the burst of 3 is the fake's choice.
POST_MESSAGE_LIMIT = MethodLimit(per_minute=60, burst=3, per_channel=True)

#: Slack's documented tier for each method the fake serves (auth.test and chat.getPermalink are
#: "special" and unlimited here).
RATE_LIMITS: Mapping[str, MethodLimit] = MappingProxyType(
    {
        "bookmarks.add": TIER_2,
        "bookmarks.list": TIER_3,
        "chat.postEphemeral": TIER_4,
        "chat.postMessage": POST_MESSAGE_LIMIT,
        "chat.update": TIER_3,
        "conversations.archive": TIER_2,
        "conversations.create": TIER_2,
        "conversations.history": TIER_3,
        "conversations.info": TIER_3,
        "conversations.invite": TIER_3,
        "conversations.join": TIER_3,
        "conversations.list": TIER_2,
        "conversations.members": TIER_4,
        "conversations.open": TIER_3,
        "conversations.rename": TIER_2,
        "conversations.setPurpose": TIER_2,
        "conversations.setTopic": TIER_2,
        "conversations.unarchive": TIER_2,
        "pins.add": TIER_2,
        "pins.list": TIER_2,
        "pins.remove": TIER_2,
        "reactions.add": TIER_3,
        "reactions.get": TIER_3,
        "reactions.remove": TIER_2,
        "usergroups.list": TIER_2,
        "usergroups.users.list": TIER_2,
        "users.info": TIER_4,
        "users.lookupByEmail": TIER_3,
        "views.open": TIER_4,
        "views.push": TIER_4,
        "views.update": TIER_4,
    }
)


@attrs.define
class _Bucket:
    tokens: float
    updated: float
