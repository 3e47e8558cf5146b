"""The personalised report in a real headless Chromium (the system's): it renders with its
charts and no console error; the PDF has pages and the structure's name."""

from __future__ import annotations

import asyncio
import io
import random
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import nats
from playwright.async_api import async_playwright
from pypdf import PdfReader

from services.reporting.app import create_app
from services.reporting.reports.pdf import CHROMIUM_ARGS
from tests.helpers import eventually, running
from tests.reporting.edition import generate, publish_edition

CHROMIUM = Path("/usr/bin/chromium")


async def test_report_html_renders_in_chromium_and_pdf_has_the_name(
    make_settings: Any, token: Any, nats_url: str
) -> None:
    assert await asyncio.to_thread(CHROMIUM.exists), (
        "make test installs Debian's chromium (make browser)"
    )
    strata = {"cities-50k-plus": ("city_hall", 12), "cities-20k-50k": ("city_hall", 8)}
    structures = generate(random.Random(3), strata)
    edition_id = uuid.uuid4()
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    async with running(create_app(make_settings("reporting"))) as client:
        await publish_edition(js, edition_id, 2026, structures,
                              dispatch_on=date.today() - timedelta(days=1))  # fmt: skip
        me = structures[0]  # personalised offer
        headers = token("structure", subject=str(me.structure_id))
        path = f"/v1/editions/{edition_id}/structures/{me.structure_id}/report"

        async def ready() -> Any:
            r = await client.get(path, headers=headers)
            return r.status_code == 200 and r.json()["overall"] and len(r.json()["channels"]) == 4

        await eventually(ready, within=60)
        html = (await client.get(path + ".html", headers=headers)).text
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        errors: list[str] = []
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            tab = await browser.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            await tab.set_content(html, wait_until="load")
            assert await tab.locator("#structure-name").inner_text() == me.name
            assert await tab.locator("svg.chart").count() >= 4
            assert await tab.locator("#channels svg.chart rect.bar").count() >= 8
            box = await tab.locator("#channels svg.chart").bounding_box()
            assert box is not None
            assert box["width"] > 300
            assert box["height"] > 50
            await browser.close()
        assert errors == []

        r = await client.get(path + ".pdf", headers=headers)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(r.content))
        assert len(reader.pages) >= 1
        assert me.name in "".join(p.extract_text() for p in reader.pages)
    await nc.close()
