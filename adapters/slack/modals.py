"""The modals the adapter opens, and reading their submissions back defensively.

A submission is read as Slack's ``view.state.values`` shape, but every level may be missing or of
the wrong type (a hostile or broken payload): readers then return empty values, and the engine's
validation answers with a message for the form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs
from firebell.core.config import FirebellConfig
from firebell.core.incident import Incident
from firebell.core.text import MAX_DESCRIPTION, MAX_TITLE, MAX_UPDATE
from firebell.plugins.slack.text import SECTION_LIMIT, escape_mrkdwn, truncate

__all__ = [
    "CLOSE_CALLBACK",
    "DECLARE_CALLBACK",
    "RESOLVE_CALLBACK",
    "DeclareForm",
    "ModalMetadata",
    "confirm_modal",
    "declare_modal",
    "read_declare_form",
    "read_text",
]

DECLARE_CALLBACK = "firebell_declare"
RESOLVE_CALLBACK = "firebell_resolve"
CLOSE_CALLBACK = "firebell_close"

#: Block ids of the declare form; the engine's ``InvalidInput.field`` names the same ones.
TITLE_BLOCK = "title"
DESCRIPTION_BLOCK = "description"
SEVERITY_BLOCK = "severity"
CUSTOMER_FACING_BLOCK = "customer_facing"
SUMMARY_BLOCK = "summary"
VALUE_ACTION = "value"
CUSTOMER_FACING_VALUE = "customer_facing"

_OPTION_TEXT_LIMIT = 75  # Slack's limit for an option's text
_MAX_OPTIONS = 100  # Slack's limit for a static_select
_METADATA_LIMIT = 3000  # Slack's limit for private_metadata


@attrs.frozen
class ModalMetadata:
    """What a modal carries through Slack in ``private_metadata``.

    ``channel_id`` is where the command was typed, ``incident_id`` the incident a confirm modal is
    about, ``response_url`` the slash command's reply address (to confirm after submitting).
    """

    channel_id: str | None = None
    incident_id: str | None = None
    response_url: str | None = None

    def dump(self) -> str:
        """The JSON text for ``private_metadata`` (the reply address is left out if too long)."""
        fields = {k: v for k, v in attrs.asdict(self).items() if v is not None}
        text = json.dumps(fields, separators=(",", ":"))
        if len(text) > _METADATA_LIMIT:
            fields.pop("response_url", None)
            text = json.dumps(fields, separators=(",", ":"))
        return text

    @classmethod
    def load(cls, text: object) -> ModalMetadata:
        """Read ``private_metadata`` back; anything unreadable gives empty metadata."""
        if not isinstance(text, str) or not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()

        def string(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(string("channel_id"), string("incident_id"), string("response_url"))


def _plain(text: str, limit: int | None = None) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) if limit else text, "emoji": True}


def _severity_option(name: str, description: str) -> dict[str, Any]:
    label = f"{name}: {description}" if description else name
    return {"text": _plain(label, _OPTION_TEXT_LIMIT), "value": name}


def declare_modal(
    settings: FirebellConfig,
    *,
    metadata: ModalMetadata,
    title: str = "",
    description: str = "",
    note: str = "",
) -> dict[str, Any]:
    """The ``/incident`` form: title, description, severity and "customer facing".

    ``title`` and ``description`` fill the form in (cut to their limits); ``note`` (mrkdwn, for
    the form's top) says why the form was opened, when it was not asked for by name.
    """
    severities = settings.severities[:_MAX_OPTIONS]
    options = [_severity_option(s.name, s.description) for s in severities]
    default = next(
        (o for o in options if o["value"] == settings.default_severity),
        options[-1] if options else None,
    )
    severity_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": VALUE_ACTION,
        "placeholder": _plain("How bad is it?"),
        "options": options,
    }
    if default is not None:
        severity_select["initial_option"] = default
    title_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": VALUE_ACTION,
        "max_length": MAX_TITLE,
        "placeholder": _plain("Checkout fails for EU customers"),
    }
    if title:
        title_input["initial_value"] = truncate(title, MAX_TITLE)
    description_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": VALUE_ACTION,
        "multiline": True,
        "max_length": MAX_DESCRIPTION,
        "placeholder": _plain("What do you see? Since when? What have you tried?"),
    }
    if description:
        description_input["initial_value"] = truncate(description, MAX_DESCRIPTION)
    intro: list[dict[str, Any]] = []
    if note:
        intro.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(note, SECTION_LIMIT)}}
        )
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "private_metadata": metadata.dump(),
        "title": _plain("Declare an incident"),
        "submit": _plain("Declare"),
        "close": _plain("Cancel"),
        "blocks": [
            *intro,
            {
                "type": "input",
                "block_id": TITLE_BLOCK,
                "label": _plain("Title"),
                "hint": _plain("A few words: what is broken, for whom."),
                "element": title_input,
            },
            {
                "type": "input",
                "block_id": DESCRIPTION_BLOCK,
                "optional": True,
                "label": _plain("Description"),
                "element": description_input,
            },
            {
                "type": "input",
                "block_id": SEVERITY_BLOCK,
                "label": _plain("Severity"),
                "element": severity_select,
            },
            {
                "type": "input",
                "block_id": CUSTOMER_FACING_BLOCK,
                "optional": True,
                "label": _plain("Impact"),
                "element": {
                    "type": "checkboxes",
                    "action_id": VALUE_ACTION,
                    "options": [
                        {
                            "text": _plain("Customer facing"),
                            "description": _plain("Customers notice it; the status page says so."),
                            "value": CUSTOMER_FACING_VALUE,
                        }
                    ],
                },
            },
        ],
    }


def confirm_modal(
    action: Literal["resolve", "close"],
    incident: Incident,
    *,
    metadata: ModalMetadata,
    summary: str = "",
    warning: str = "",
) -> dict[str, Any]:
    """The confirmation for ``/resolve-incident`` or ``/close-incident``, with an optional summary.

    ``warning`` (mrkdwn) is shown under the question, e.g. that no follow-ups are recorded.
    """
    if action == "resolve":
        callback, title, submit = RESOLVE_CALLBACK, "Resolve incident", "Resolve"
        question = "Mark *{name}* resolved? Its channel stays open until the incident is closed."
        label = "Resolution summary"
    else:
        callback, title, submit = CLOSE_CALLBACK, "Close incident", "Close"
        question = (
            "Close *{name}* after its post-mortem? The channel is archived and the incident "
            "becomes read-only."
        )
        label = "Closing summary"
    text = question.format(name=escape_mrkdwn(incident.id)) + "\n>" + escape_mrkdwn(incident.title)
    if warning:
        text += "\n\n" + warning
    summary_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": VALUE_ACTION,
        "multiline": True,
        "max_length": MAX_UPDATE,
    }
    if summary:
        summary_input["initial_value"] = truncate(summary, MAX_UPDATE)
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": metadata.dump(),
        "title": _plain(title),
        "submit": _plain(submit),
        "close": _plain("Cancel"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}},
            {
                "type": "input",
                "block_id": SUMMARY_BLOCK,
                "optional": True,
                "label": _plain(label),
                "element": summary_input,
            },
        ],
    }


# -- reading submissions -------------------------------------------------------------------------


@attrs.frozen
class DeclareForm:
    """The declare form as submitted (unvalidated: the engine checks it)."""

    title: str
    description: str
    severity: str | None
    customer_facing: bool


def _element(view: Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    block = values.get(block_id) if isinstance(values, Mapping) else None
    element = block.get(VALUE_ACTION) if isinstance(block, Mapping) else None
    return element if isinstance(element, Mapping) else {}


def read_text(view: Mapping[str, Any], block_id: str) -> str:
    """The text typed into the ``plain_text_input`` of ``block_id`` ("" when absent)."""
    value = _element(view, block_id).get("value")
    return value if isinstance(value, str) else ""


def _selected_value(view: Mapping[str, Any], block_id: str) -> str | None:
    option = _element(view, block_id).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None


def _checked(view: Mapping[str, Any], block_id: str, value: str) -> bool:
    options = _element(view, block_id).get("selected_options")
    if not isinstance(options, list):
        return False
    return any(isinstance(o, Mapping) and o.get("value") == value for o in options)


def read_declare_form(view: Mapping[str, Any]) -> DeclareForm:
    """The declare form's values from a ``view_submission``'s view."""
    return DeclareForm(
        title=read_text(view, TITLE_BLOCK),
        description=read_text(view, DESCRIPTION_BLOCK),
        severity=_selected_value(view, SEVERITY_BLOCK),
        customer_facing=_checked(view, CUSTOMER_FACING_BLOCK, CUSTOMER_FACING_VALUE),
    )
