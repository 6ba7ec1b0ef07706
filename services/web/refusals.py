"""How a service's refusal reads on a form, the GOV.UK way: each field's own message, in plain
words, beside the field (aria-invalid, aria-describedby), and a summary at the top of the page
linking to each field; a refusal that names no field is a line of the summary alone. The APIs
answer problem documents whose ``errors`` are marshmallow's messages ("Missing data for required
field.") keyed by the API's names for fields; people read neither, so both are said again here
with the form's own labels."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.web.backend import ApiError


@dataclass(frozen=True)
class Field:
    """One field of a form: its input ``name``, the element ``id`` the summary links to, and how
    a message names it (``label``: "the start time"). ``kind`` says what "missing" or "not
    valid" asks for: text, choice, date, time, moment, number, url, email, list or tick."""

    name: str
    id: str
    label: str
    kind: str = "text"


@dataclass(frozen=True)
class Form:
    """A form's fields by the API's name for each (a nested one dotted: ``contact.email``,
    ``nominated_persons.0.name``). ``whole_form``: the field a rule over the whole body
    (``_schema``) is shown beside. ``key`` tells one form of a page from another."""

    key: str
    fields: Mapping[str, Field]
    whole_form: str | None = None

    def field(self, path: str) -> Field | None:
        """The field an API path is about: the path itself, else its nearest parent the form
        knows (``nominated_persons.0.name`` may be written ``nominated_persons.name``). A
        message about one entry of a list (``with_whom.3``) is about one line of its box."""
        parts = path.split(".")
        while parts:
            for candidate in (".".join(parts), ".".join(p for p in parts if not p.isdigit())):
                if candidate in self.fields:
                    found = self.fields[candidate]
                    if found.kind == "list" and path.rsplit(".", 1)[-1].isdigit():
                        return Field(found.name, found.id, f"each line of {found.label}")
                    return found
            parts.pop()
        return None


class _NothingTyped:
    """A form with nothing typed in it, read as a posted one is (``get``, ``getlist``)."""

    def get(self, key: str, default: Any = None) -> Any:
        return default

    def getlist(self, key: str) -> list[str]:
        return []


NOTHING_TYPED = _NothingTyped()


@dataclass
class Refusal:
    """What a refused form shows again: ``errors`` by input name, ``general`` messages (each with
    the page anchor it is about, or None), and ``typed``, everything the person had typed."""

    form: str
    errors: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    general: list[tuple[str, str | None]] = field(default_factory=list)
    typed: Any = field(default_factory=lambda: NOTHING_TYPED)

    def of(self, key: str) -> Refusal | None:
        """This refusal if it is the form ``key``'s (a page may hold several forms)."""
        return self if self.form == key else None

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def error_id(self, name: str) -> str:
        return f"{self.ids.get(name, name)}-error"

    def add(self, field_: Field, message: str) -> None:
        """One more message about a field (two about one field read as one sentence after the
        other, never the same one twice)."""
        known = self.errors.get(field_.name)
        if known and message in known:
            return
        self.errors[field_.name] = f"{known} {message}" if known else message
        self.ids[field_.name] = field_.id

    def summary(self) -> list[tuple[str | None, str]]:
        """The summary's lines, as (link, message): each field's in the form's order, then the
        rest."""
        lines: list[tuple[str | None, str]] = [
            (f"#{self.ids[name]}", message) for name, message in self.errors.items()
        ]
        seen = {message for _, message in lines}
        return lines + [(anchor, text) for text, anchor in self.general if text not in seen]

    def __bool__(self) -> bool:
        return bool(self.errors or self.general)


def refusal(error: ApiError, form: Form, typed: Any = None) -> Refusal:
    """The API's refusal of ``form`` as the page shows it again, with what was ``typed``."""
    shown = Refusal(form.key, typed=typed if typed is not None else NOTHING_TYPED)
    found = problem_fields(error.body) if error.status == 422 else []
    if not found:
        shown.general.append((error.plain_words, None))
        return shown
    for path, messages in found:
        if path == "_schema" and form.whole_form:
            path = form.whole_form
        target = form.field(path)
        if target is None:
            shown.general.append((" ".join(plain(_guessed(path), m) for m in messages), None))
            continue
        value = shown.typed.get(target.name) if hasattr(shown.typed, "get") else None
        for message in messages:
            shown.add(target, plain(target, message, value))
    return shown


def refused(form: Form, typed: Any, **messages: str) -> Refusal:
    """A refusal the web app makes itself before asking a service (``messages`` by input name)."""
    shown = Refusal(form.key, typed=typed)
    by_name = {f.name: f for f in form.fields.values()}
    for name, message in messages.items():
        shown.add(by_name[name], message)
    return shown


def problem_fields(body: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Each (dotted API path, its messages) of a problem's ``errors`` (the body's, or the
    query's or path's when there is no body), in the order given."""
    errors = body.get("errors")
    if not isinstance(errors, Mapping):
        return []
    located = errors.get("json") or errors.get("query") or errors.get("view_args") or {}
    if not isinstance(located, Mapping):
        return []
    found: dict[str, list[str]] = {}
    for path, message in _leaves(located):
        found.setdefault(path, []).append(message)
    return list(found.items())


def _leaves(messages: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(messages, list | tuple):
        for part in messages:
            yield from _leaves(part, path)
    else:
        yield ".".join(path) or "_schema", str(messages)


def plain_problem(body: Mapping[str, Any]) -> str | None:
    """A validation refusal in plain words when no form's labels are at hand (a message after a
    redirect): each field named from the API's name for it. None when it names no field."""
    found = problem_fields(body)
    if not found:
        return None
    return " ".join(
        plain(_guessed(path), message) for path, messages in found for message in messages
    )


def _guessed(path: str) -> Field:
    """A field named from the API's path: ``duration_minutes`` reads "the duration minutes"."""
    words = [part for part in path.split(".") if not part.isdigit() and part != "_schema"]
    name = words[-1] if words else ""
    label = f"the {name.replace('_', ' ')}" if name else "the form"
    return Field(name=path, id=path, label=LABELS.get(name, label))


#: What the APIs call fields that no form names, as a sentence names them.
LABELS = {
    "starts_at": "the start time",
    "starts_on": "the start date",
    "expires_on": "the end date",
    "occurred_at": "when it happened",
    "duration_minutes": "the duration",
    "video_link": "the video link",
    "location": "the place",
    "organization_id": "the partner organisation",
    "service_id": "the service",
    "case_manager_id": "the case manager",
    "reason_code": "the reason",
    "domain": "the need",
}

_RANGE_BOTH = re.compile(
    r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\."
)
_RANGE_MIN = re.compile(r"Must be greater than or equal to (\S+)\.")
_RANGE_MAX = re.compile(r"Must be less than or equal to (\S+)\.")
_LENGTH_BOTH = re.compile(r"Length must be between (\d+) and (\d+)\.")
_LENGTH_MIN = re.compile(r"Shorter than minimum length (\d+)\.")
_LENGTH_MAX = re.compile(r"Longer than maximum length (\d+)\.")
_API_NAMES = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_ENTER = {"choice": "Choose {label}.", "tick": "Tick {label}."}
_NOT_VALID = {
    "Not a valid datetime.": "Enter {label} as a date and time.",
    "Not a valid aware datetime.": "Enter {label} as a date and time.",
    "Not a valid date.": "Enter {label} as a date.",
    "Not a valid time.": "Enter {label} as a time, like 21:30.",
    "Not a valid integer.": "Enter {label} as a whole number.",
    "Not a valid number.": "Enter {label} as a number.",
    "Not a valid URL.": "Enter {label} as a full web address starting with https://.",
    "Not a valid email address.": "Enter {label} as an e-mail address, like name@example.org.",
    "Not a valid boolean.": "Choose {label}.",
    "Not a valid list.": "Choose {label}.",
    "Unknown field.": "The service does not take {label} here.",
}


def plain(target: Field, message: str, value: Any = None) -> str:
    """marshmallow's message about ``target`` in plain words; a service's own sentence is kept,
    a fragment of one ("must be after starts_on") gets the field's name and the other fields'
    names said as labels."""
    label, kind = target.label, target.kind
    blank = value is None or not str(value).strip()
    enter = _ENTER.get(kind, "Enter {label}.").format(label=label)
    if message in ("Missing data for required field.", "Field may not be null."):
        return enter
    if message in _NOT_VALID:
        return _NOT_VALID[message].format(label=label)
    if message.startswith("Must be one of:"):
        return f"Choose {label} from the list."
    if found := _RANGE_BOTH.fullmatch(message):
        return f"{_first_up(label)} must be from {found[1]} to {found[2]}."
    if found := _RANGE_MIN.fullmatch(message):
        return f"{_first_up(label)} must be {found[1]} or more."
    if found := _RANGE_MAX.fullmatch(message):
        return f"{_first_up(label)} must be {found[1]} or less."
    unit = "entries" if kind == "list" else "characters"
    if found := _LENGTH_MIN.fullmatch(message):
        if found[1] == "1" or blank:
            return enter
        return f"{_first_up(label)} needs {found[1]} {unit} or more."
    if found := _LENGTH_BOTH.fullmatch(message):
        if blank:
            return enter
        if found[1] in ("0", "1"):
            return f"{_first_up(label)} must be {found[2]} {unit} or fewer."
        return f"{_first_up(label)} must be from {found[1]} to {found[2]} {unit} long."
    if found := _LENGTH_MAX.fullmatch(message):
        return f"{_first_up(label)} must be {found[1]} {unit} or fewer."
    return _sentence(label, message)


def _sentence(label: str, message: str) -> str:
    text = _API_NAMES.sub(lambda name: LABELS.get(name[0], name[0].replace("_", " ")), message)
    text = text.strip()
    if not text.endswith((".", "?", "!")):
        text += "."
    if text[:1].isupper() or text.lower().startswith(("a ", "an ", "the ")):
        return _first_up(text)
    if text.startswith(("must ", "is ", "cannot ", "may ")):
        return f"{_first_up(label)} {text}"
    return f"{_first_up(label)}: {text}"


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]
