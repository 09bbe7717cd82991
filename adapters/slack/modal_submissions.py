"""The adapter's modal submissions: the declare form and the resolve and close confirmations.

A submission must be answered with its outcome (inline errors keep the modal open), so the
engine command runs first, on the adapter's pool, bounded by :data:`SUBMIT_DEADLINE`, under
Slack's three seconds; past it the modal asks the person to submit again. The confirmation on
the command's ``response_url`` and the look-up of the people's names run after the answer, off
Bolt's thread.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from firebell.adapters.slack.adapter_parts import AdapterParts
from firebell.adapters.slack.declaration_watch import post_ephemeral
from firebell.adapters.slack.listener_support import after_ack
from firebell.adapters.slack.modals import (
    DESCRIPTION_BLOCK,
    SEVERITY_BLOCK,
    SUMMARY_BLOCK,
    TITLE_BLOCK,
    ModalMetadata,
    read_declare_form,
    read_text,
)
from firebell.adapters.slack.replies import declared_text, describe_error, named_people
from firebell.core.errors import CommandRefused, InvalidInput
from firebell.core.store import AppendResult
from slack_bolt import Ack

__all__ = ["INCOMPLETE_FORM", "STILL_WORKING", "SUBMIT_DEADLINE", "ModalSubmissions"]

log = logging.getLogger("firebell.slack")

T = TypeVar("T")

SUBMIT_DEADLINE = 2.5
"""Seconds a modal submission may spend in the engine before the modal is answered anyway."""

STILL_WORKING = (
    "Firebell's database is slow to answer, so this may not be recorded yet. Press the button "
    "again in a moment: it will not be recorded twice."
)
INCOMPLETE_FORM = "Slack sent an incomplete form. Close it and run the command again."

_INLINE_ERROR_LIMIT = 1000


class ModalSubmissions(AdapterParts):
    """The modal listeners of :class:`~firebell.adapters.slack.handlers.SlackAdapter`."""

    def declare_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The declare form was submitted: declare (once per view) or show what to fix."""
        user_id = body["user"]["id"]
        form = read_declare_form(view)
        metadata = ModalMetadata.load(view.get("private_metadata"))
        handles = {user_id: _username(body["user"])}
        names = self.people.names([user_id], handles=handles, look_up=False)

        def declare() -> AppendResult:
            return self.engine.declare(
                title=form.title,
                description=form.description,
                severity=form.severity,
                customer_facing=form.customer_facing,
                reporter=user_id,
                source="slack",
                idempotency_key=f"slack-view:{view['id']}",
                actor_groups=self.groups.groups_for("declare", user_id),
                names=names,
            )

        fields = {TITLE_BLOCK, DESCRIPTION_BLOCK, SEVERITY_BLOCK}
        result = self._submit(ack, declare, fields=fields, default_block=TITLE_BLOCK)
        if result is None or result.duplicate:
            return
        if metadata.response_url:
            self._replies.submit(post_ephemeral, metadata.response_url, declared_text(result))
            self.declarations.watch(result.incident.id, metadata.response_url)
        # Submitted on a process that did not open the form: nothing cached, look them up now.
        after_ack(
            self._commands,
            functools.partial(self.people.record_names, actor=user_id, handles=handles),
            self.engine,
            result.incident.id,
            [user_id],
        )

    def resolve_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The resolve confirmation was submitted."""
        self._confirm_submitted("resolve", ack, body, view)

    def close_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The close confirmation was submitted."""
        self._confirm_submitted("close", ack, body, view)

    def _confirm_submitted(
        self,
        action: Literal["resolve", "close"],
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
    ) -> None:
        user_id = body["user"]["id"]
        metadata = ModalMetadata.load(view.get("private_metadata"))
        incident_id = metadata.incident_id
        if incident_id is None:
            ack(response_action="errors", errors={SUMMARY_BLOCK: INCOMPLETE_FORM})
            return
        summary = read_text(view, SUMMARY_BLOCK)
        key = f"slack-view:{view['id']}"
        # Only a name looked up before: a username could replace the real name recorded earlier.
        names = self.people.names([user_id], look_up=False)

        def run() -> AppendResult:
            groups = self.groups.groups_for(action, user_id)
            command = self.engine.resolve if action == "resolve" else self.engine.close
            try:
                return command(
                    incident_id,
                    actor=user_id,
                    summary=summary,
                    idempotency_key=key,
                    actor_groups=groups,
                    names=names,
                )
            except CommandRefused as error:
                # The modal's error is plain text, where a mention shows as a raw id.
                named = named_people(str(error), self.engine.get(incident_id).names)
                raise CommandRefused(named) from error

        self._submit(ack, run, fields={SUMMARY_BLOCK}, default_block=SUMMARY_BLOCK)

    def _submit(
        self,
        ack: Ack,
        work: Callable[[], T],
        *,
        fields: set[str],
        default_block: str,
    ) -> T | None:
        """Run ``work`` within the deadline and answer the modal: closed, or inline errors."""
        future = self._pool.submit(work)
        try:
            result = future.result(timeout=self.submit_deadline)
        except concurrent.futures.TimeoutError:
            log.warning(
                "a modal submission took over %.1fs; asked to submit again", self.submit_deadline
            )
            ack(response_action="errors", errors={default_block: STILL_WORKING})
            return None
        except Exception as error:
            field = error.field if isinstance(error, InvalidInput) else None
            block = field if field in fields else default_block
            message = describe_error(error, doing="recording the form")
            ack(response_action="errors", errors={block: message[:_INLINE_ERROR_LIMIT]})
            return None
        ack()
        return result


def _username(user: Mapping[str, Any]) -> str:
    """The username a view submission's ``user`` carries (``username``, else ``name``)."""
    for key in ("username", "name"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
