"""The console in a real headless Chromium, served by uvicorn: list, filters, search, an incident
and its timeline, declare and resolve through the forms, metrics, and a client from another
address refused without the token. Every page is saved to build/screenshots/ for review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from firebell.adapters.web.server import BackgroundConsole, uvicorn_config
from firebell.adapters.web.settings import web_settings
from firebell.core import Firebell, IncidentState
from web_browser import Relay, chromium, screenshot
from web_support import TOKEN, MakeConsole, seed

pytestmark = pytest.mark.slow


@pytest.fixture
def served(make_console: MakeConsole) -> Iterator[tuple[Firebell, str, dict[str, Any]]]:
    """A console with actions on and a token, on a free port; (firebell, base URL, incidents)."""
    firebell, _ = make_console({"allow_actions": True, "token": {"env": "FIREBELL_WEB_TOKEN"}})
    made = seed(firebell)
    config = uvicorn_config(
        firebell, web_settings(firebell.settings), host="127.0.0.1", port=0, log_level="warning"
    )
    console = BackgroundConsole(config).start()
    try:
        yield firebell, console.url, made
    finally:
        console.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium."""
    with chromium(tmp_path / "profile") as driver:
        yield driver


def _arrive(driver: Any, fragment: str) -> None:
    """Wait until the page's address contains ``fragment`` (a click's navigation is async)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(expected_conditions.url_contains(fragment))


def _wait_for_text(driver: Any, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(
        expected_conditions.text_to_be_present_in_element((By.ID, element_id), text)
    )


def _rows(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, "table.incidents a.name")]


def test_list_filters_search_and_an_incident_timeline(
    served: tuple[Firebell, str, dict[str, Any]], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _, base, made = served
    browser.get(f"{base}/incidents")
    assert browser.title == "Incidents · Firebell"
    assert _rows(browser) == [made[k].id for k in ("billing", "login", "search", "checkout")]
    screenshot(browser, "01-incident-list")

    Select(browser.find_element(By.NAME, "state")).select_by_value("open")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    _arrive(browser, "state=open")
    assert _rows(browser) == [made["billing"].id, made["search"].id]
    assert "matching" in browser.find_element(By.ID, "count").text
    screenshot(browser, "02-incident-list-filtered")

    browser.find_element(By.LINK_TEXT, "Clear").click()
    _arrive(browser, "/incidents")
    search = browser.find_element(By.NAME, "q")
    search.send_keys("checkout")
    search.submit()
    _arrive(browser, "q=checkout")
    assert _rows(browser) == [made["checkout"].id]

    browser.find_element(By.LINK_TEXT, made["checkout"].id).click()
    _arrive(browser, f"/incidents/{made['checkout'].id}")
    assert browser.find_element(By.ID, "incident-name").text == made["checkout"].id
    assert browser.find_element(By.ID, "state").text == "resolved"
    timeline = browser.find_element(By.ID, "timeline").text
    assert "Declared as SEV1: Checkout returns 502" in timeline
    assert "Resolved: Rolled back" in timeline and "Note: Payments queue drained" in timeline
    channel = browser.find_element(By.PARTIAL_LINK_TEXT, "#incd-")
    assert channel.get_attribute("href").startswith("https://acme.slack.com/archives/")
    screenshot(browser, "03-incident-page")

    browser.get(f"{base}/metrics")
    assert browser.find_element(By.ID, "total").text == "4"
    assert browser.find_elements(By.CSS_SELECTOR, ".chart-box svg rect")
    screenshot(browser, "04-metrics")

    browser.get(f"{base}/incidents/20990101-no-such-thing")
    assert "There is no incident called" in browser.page_source
    screenshot(browser, "05-not-found")


def test_declare_and_resolve_through_the_forms(
    served: tuple[Firebell, str, dict[str, Any]], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    firebell, base, _ = served
    browser.get(f"{base}/incidents")
    browser.find_element(By.CSS_SELECTOR, "details.declare summary").click()
    form = browser.find_element(By.CSS_SELECTOR, "details.declare form")
    form.find_element(By.NAME, "title").send_keys("Webhooks to partners time out")
    form.find_element(By.NAME, "description").send_keys("Partner API p99 above 30 s")
    Select(form.find_element(By.NAME, "severity")).select_by_value("SEV0")
    screenshot(browser, "06-declare-form")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _arrive(browser, "/incidents/")

    name = browser.find_element(By.ID, "incident-name").text
    incident = firebell.engine.get(name)
    assert (incident.title, incident.severity, incident.reporter) == (
        "Webhooks to partners time out",
        "SEV0",
        "web:local",
    )
    browser.find_element(By.NAME, "summary").send_keys("Partner raised their timeout")
    screenshot(browser, "07-declared-incident")
    browser.find_element(By.CSS_SELECTOR, "form.resolve button").click()
    _wait_for_text(browser, "state", "resolved")

    resolved = firebell.engine.get(name)
    assert resolved.state is IncidentState.RESOLVED and resolved.resolved_by == "web:local"
    assert "Resolved: Partner raised their timeout" in browser.find_element(By.ID, "timeline").text


def test_a_client_at_another_address_needs_the_token(
    served: tuple[Firebell, str, dict[str, Any]], browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    _, base, made = served
    port = int(base.rsplit(":", 1)[1])
    relay = Relay(("127.0.0.1", port), source="127.0.0.2")
    try:
        remote = f"http://127.0.0.1:{relay.port}"
        browser.get(f"{remote}/incidents")
        assert "Token needed" in browser.find_element(By.TAG_NAME, "h1").text
        for incident in made.values():
            assert incident.id not in browser.page_source
        screenshot(browser, "08-remote-without-token")

        browser.get(f"{remote}/incidents/{made['checkout'].id}")
        assert "Checkout returns 502" not in browser.page_source

        browser.get(f"{remote}/incidents?token={TOKEN}")
        assert browser.current_url == f"{remote}/incidents"  # the token left the address bar
        assert _rows(browser)[-1] == made["checkout"].id
        assert "web:token" in browser.find_element(By.CSS_SELECTOR, "header .who").text
        screenshot(browser, "09-remote-with-token")
    finally:
        relay.close()
