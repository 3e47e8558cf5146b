"""PDF of a report page, printed by the system's headless Chromium (through Playwright)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import async_playwright

from shared.errors import ServiceUnavailable

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def html_to_pdf(page_html: str, chromium: Path) -> bytes:
    if not await asyncio.to_thread(chromium.exists):
        raise ServiceUnavailable(f"PDF rendering needs Chromium at {chromium}")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.set_content(page_html, wait_until="load")
            return await page.pdf(format="A4", print_background=True)
        finally:
            await browser.close()
