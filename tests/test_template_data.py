"""Template data values fitted to the category-template limits (WECHAT.md §7.3)."""

from __future__ import annotations

import pytest

from gateway.wechat.template_data import fit_value, format_wechat_time, key_type, render_template_data


@pytest.mark.parametrize(
    "key, kind",
    [("thing1", "thing"), ("character_string3", "character_string"), ("time2", "time"),
     ("phone_number4", "phone_number"), ("car_number5", "car_number"), ("date12", "date"),
     ("keyword1", ""), ("first", ""), ("things1", "")],
)
def test_key_type(key: str, kind: str) -> None:
    assert key_type(key) == kind


def test_long_chinese_thing_is_cut_to_20_with_ellipsis() -> None:
    title = "采购申请单" * 20
    fitted = fit_value("thing1", title)
    assert len(fitted) == 20 and fitted.endswith("…") and fitted[:19] == title[:19]
    assert fit_value("thing1", "采" * 20) == "采" * 20
    assert fit_value("thing1", "  ") == "-"
    assert fit_value("thing1", "第一行\n第二行") == "第一行 第二行"


def test_character_string_drops_chinese() -> None:
    assert fit_value("character_string3", "PO-2024-0001 号") == "PO-2024-0001"
    assert fit_value("character_string3", "A" * 40) == "A" * 32
    assert fit_value("character_string3", "单号") == "-"


def test_phrase_name_and_others() -> None:
    assert fit_value("phrase1", "已审批通过了啊") == "已审批通过"
    assert fit_value("phrase1", "OK配送中!") == "配送中"
    assert fit_value("name2", "张三") == "张三"
    assert fit_value("name2", "欧阳" * 6) == "欧阳" * 4 + "欧…"
    assert fit_value("name2", "Alexander Hamilton-Smith") == "Alexander Hamilto..."
    assert len(fit_value("name2", "Alexander Hamilton-Smith")) == 20
    assert fit_value("name2", "") == "-"
    assert fit_value("number1", "¥1,234.50.6") == "1234.506"
    assert fit_value("letter1", "ab-1 C") == "abC"
    assert fit_value("car_number1", "粤A 12345 学X") == "粤A12345学"
    assert fit_value("phone_number1", "tel: +86-0766-66888866") == "+86-0766-66888866"
    assert fit_value("time1", " 15:01 ") == "15:01"
    assert fit_value("const1", " 已完成") == " 已完成"
    assert fit_value("keyword1", "x" * 50) == "x" * 50


def test_render_with_placeholders_and_literal_text() -> None:
    mapping = {
        "thing1": "{title}",
        "thing2": "申请人：{applicant}",
        "time3": "{submitted_at}",
        "date4": "{submitted_at}",
        "character_string5": "{doc_no}",
        "thing6": "{missing}",
    }
    values = {"title": "关于采购办公用品的申请" * 3, "applicant": "张三",
              "submitted_at": "2024-01-01T15:01:00+08:00", "doc_no": "PO-7 号"}
    assert render_template_data(mapping, values) == {
        "thing1": {"value": ("关于采购办公用品的申请" * 2)[:19] + "…"},
        "thing2": {"value": "申请人：张三"},
        "time3": {"value": "2024年1月1日 15:01"},
        "date4": {"value": "2024年1月1日"},
        "character_string5": {"value": "PO-7"},
        "thing6": {"value": "-"},
    }


def test_render_formats_only_iso_time_keys() -> None:
    got = render_template_data({"time1": "{t}", "thing2": "{t}"}, {"t": "2024-01-01T15:01"})
    assert got == {"time1": {"value": "2024年1月1日 15:01"}, "thing2": {"value": "2024-01-01T15:01"}}
    assert render_template_data({"time1": "今天 {t}"}, {"t": "15:01"}) == {"time1": {"value": "今天 15:01"}}


def test_format_wechat_time() -> None:
    assert format_wechat_time("2024-01-01T15:01:00+08:00") == "2024年1月1日 15:01"
    assert format_wechat_time("2024-12-31T07:05:00Z") == "2024年12月31日 15:05"  # shown in Beijing time
    assert format_wechat_time("2024-03-09T08:00:00") == "2024年3月9日 08:00"
    with pytest.raises(ValueError):
        format_wechat_time("not a time")
