"""The phone's settings on the console's settings page: retention days and time zone shown, saved
through the registry, and refused next to the field (nothing saved) when wrong."""
from __future__ import annotations

import re

from console_client import ConsoleClient
from test_console import settings_form


async def test_phone_settings_on_the_console(env) -> None:
    async with env.gateway() as g:
        await g.create_tenant("acme")
        c = ConsoleClient(g)
        await c.sign_in_operator()
        page = await c.get("/console/t/acme/settings")
        assert 'name="retention_days"' in page.text and 'value="180"' in page.text
        assert 'value="Asia/Shanghai"' in page.text and "手机端显示时区" in page.text
        saved = await c.post("/console/t/acme/settings", settings_form(retention_days="30", time_zone="Europe/Berlin"))
        assert saved.status == 302, saved.text
        assert g.gw.registry.require("acme").phone == {"retention_days": 30, "time_zone": "Europe/Berlin"}
        revision = g.gw.registry.require("acme").revision
        bad = await c.post("/console/t/acme/settings", settings_form(retention_days="0", time_zone="Mars/Olympus"))
        assert bad.status == 400
        assert re.search(r'id="error-retention_days">[^<]*1 到 3650', bad.text)
        assert re.search(r'id="error-time_zone">[^<]*Asia/Shanghai', bad.text)
        assert 'value="Mars/Olympus"' in bad.text
        words = await c.post("/console/t/acme/settings", settings_form(retention_days="abc", time_zone="Asia/Tokyo"))
        assert words.status == 400 and re.search(r'id="error-retention_days">请填写整数<', words.text)
        assert g.gw.registry.require("acme").revision == revision
        # A form without the phone's card (an older page) leaves them as they are.
        assert (await c.post("/console/t/acme/settings", settings_form())).status == 302
        assert g.gw.registry.require("acme").phone["time_zone"] == "Europe/Berlin"
        english = await c.get("/console/lang?to=en&next=/console/t/acme/settings")
        assert english.status in (200, 302)
        assert "Time zone of the phone pages" in (await c.get("/console/t/acme/settings")).text
