"""`?limit=` and `?after=` as every collection reads them: capped at 1000, refused (400) when
not a whole number of at least 1."""
from __future__ import annotations

import pytest

from gateway.platform.errors import Invalid
from gateway.platform.pagination import DEFAULT_LIMIT, MAX_LIMIT, parse_page


def test_limit_defaults_and_is_capped():
    assert MAX_LIMIT == 1000
    assert parse_page(None, None).limit == DEFAULT_LIMIT
    assert parse_page(None, "").limit == DEFAULT_LIMIT
    assert parse_page(None, "5").limit == 5
    assert parse_page(None, "1000").limit == 1000
    assert parse_page(None, "5000").limit == 1000
    assert parse_page(None, "99999999999999999999").limit == 1000


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "1_000", " 7", "５", "1e3"])
def test_bad_limits_answer_400(bad):
    with pytest.raises(Invalid) as caught:
        parse_page(None, bad)
    assert caught.value.status == 400
    assert caught.value.details == {"field": "limit"}


def test_after_is_kept_and_read_as_an_id():
    page = parse_page("evt_42", "10")
    assert page.after == "evt_42" and page.after_int() == 42
    assert parse_page("", None).after is None
    with pytest.raises(Invalid):
        parse_page("nope", None).after_int()


async def test_limit_over_http(env):
    async with env.gateway() as g:
        for slug in ("a-one", "a-two"):
            await g.create_tenant(slug)
        ok = await g.admin("GET", "/admin/api/tenants?limit=5000")
        assert ok.status == 200 and len(ok.json["items"]) == 2
        for bad in ("0", "-1", "abc"):
            r = await g.admin("GET", f"/admin/api/tenants?limit={bad}")
            assert r.status == 400, (bad, r.text)
            assert r.json["error"]["code"] == "invalid"
