"""Every link a notification carries opens a page of the web app (CASEHUB_APP_URL is the web
app): the path of each template's link is a route here, and signed in it answers."""

from __future__ import annotations

import re
import urllib.parse
import uuid

from jinja2 import Environment

from services.notifications.channels import TEMPLATES
from tests.web.conftest import Person

APP = "https://casehub.example.org"


def test_every_notification_link_is_a_page_of_the_web_app(offline_app) -> None:  # type: ignore[no-untyped-def]
    adapter = offline_app.url_map.bind("casehub.example.org")
    paths = set()
    for subject, body in TEMPLATES.values():
        text = (
            Environment()
            .from_string(subject + "\n" + body)
            .render(
                app_url=APP,
                client_reference="C-1042",
                notification_id=str(uuid.uuid4()),
                escalation_level=1,
                client_id=str(uuid.uuid4()),
                # what a partner's "webhook disabled" message names (it links to no page)
                event={"subscription_id": "s-1", "failed_attempts": 9, "failing_since": "today"},
            )
        )
        for link in re.findall(rf"{re.escape(APP)}(\S*)", text):
            paths.add(link or "/")
    assert "/" in paths and any(path.startswith("/notifications/") for path in paths)
    for path in paths:
        endpoint, _ = adapter.match(path, method="GET")
        assert endpoint.startswith("pages."), path
    person = Person(offline_app)
    for path in paths:  # signed out: to the sign-in page and back to that link afterwards
        answer = person.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in")


def test_a_listed_clients_link_is_the_address_url_for_builds(offline_app) -> None:  # type: ignore[no-untyped-def]
    """Lists build each row's record link from one prefix; it must stay the route's own address,
    under a mount point too, with the id quoted."""
    from flask import url_for

    from services.web.api.common import record_url

    for root in ("", "/casehub"):
        for client_id in (str(uuid.uuid4()), "C 1042?x=1"):
            with offline_app.test_request_context("/caseload", base_url=f"http://h{root}"):
                assert record_url(client_id) == url_for("pages.client_record", client_id=client_id)
                adapter = offline_app.url_map.bind("h", script_name=root or "/")
                path = record_url(client_id).removeprefix(root)
                assert adapter.match(urllib.parse.unquote(path)) == (
                    "pages.client_record",
                    {"client_id": client_id},
                )
