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


@pytest.mark.parametrize(
    "value, fitted",
    [("¥12,000.50", "¥12000.50"), ("¥ 1,234,567,890", "¥1234567890"), ("$99", "$99"), ("12,000 元", "12000元"),
     ("￥100元", "￥100元"), ("€3.5", "€3.5"), ("1,000", "1000"), ("12，000", "12000"),
     # not expressible as a valid amount: sent that way (WeChat may refuse), never as another amount
     ("¥12,000,000,000.50", "¥12000000000.50"), ("-¥5.00", "-¥5.00"), ("USD 12", "USD 12"), ("面议", "面议"),
     ("¥1-2万", "¥1-2万"), ("", "-"), ("  ", "-")],
)
def test_amount_keeps_the_amount(value: str, fitted: str) -> None:
    assert fit_value("amount1", value) == fitted


def test_reviewer_amount_loses_its_separators() -> None:
    fitted = fit_value("amount3", "¥12,000,000,000.50")
    assert "," not in fitted and fitted.startswith("¥") and fitted.endswith(".50")


@pytest.mark.parametrize(
    "key, value, fitted",
    [("number1", "N/A", "0"), ("number1", "", "0"), ("number1", "1,234.5 台", "1234.5"), ("number1", ".5", "0.5"),
     ("number1", "-5", "-5"), ("number1", "9" * 40, "9" * 32),
     ("letter1", "张三", "NA"), ("letter1", "", "NA"), ("letter1", "x" * 40, "x" * 32),
     ("phrase1", "ABC", "未知"), ("phrase1", "", "未知"),
     ("symbol1", "abc", "-"), ("symbol1", "!?#%&*", "!?#%&"),
     ("car_number1", "粤A·12345", "粤A12345"), ("car_number1", "--", "无"),
     ("phone_number1", "n/a", "-"), ("character_string1", "", "-"), ("name1", "  ", "-"),
     ("thing1", "", "-"), ("keyword1", "", "-"), ("first", " ", "-"),
     ("time1", "", "-"), ("date1", "", "-"),
     ("const1", "", ""), ("enum1", "已完成", "已完成")],
)
def test_no_type_gets_an_empty_value(key: str, value: str, fitted: str) -> None:
    assert fit_value(key, value) == fitted


def test_non_iso_times_pass_unchanged() -> None:
    assert fit_value("time1", "明天下午") == "明天下午"
    assert fit_value("date1", "2019年10月1日 ~ 2019年10月2日") == "2019年10月1日 ~ 2019年10月2日"
    got = render_template_data({"time1": "{t}", "amount2": "{a}", "number3": "{n}"}, {"t": "明天下午", "a": "¥1,200"})
    assert got == {"time1": {"value": "明天下午"}, "amount2": {"value": "¥1200"}, "number3": {"value": "0"}}
