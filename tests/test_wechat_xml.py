"""Tests for gateway.wechat.xmlmsg: hostile XML is refused quickly, WeChat messages parse and replies build."""

from __future__ import annotations

import time

import pytest

from gateway.wechat.xmlmsg import (
    MAX_XML_BYTES,
    XmlError,
    build_message,
    build_news_reply,
    build_text_reply,
    escape_cdata,
    parse_xml,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><Content>&lol9;</Content></xml>"""

QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "' + b"A" * 20000 + b'">]><xml><Content>'
    + b"&a;" * 5000
    + b"</Content></xml>"
)

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Content>&xxe;</Content></xml>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">
<xml><Content>x</Content></xml>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<xml><Content>x</Content></xml>"""

DOCTYPE_ONLY = b"<!DOCTYPE xml><xml><Content>x</Content></xml>"

TEXT_MESSAGE = """<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>
<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId>
<MsgDataId>xxxx</MsgDataId><Idx>xxxx</Idx></xml>""".encode()

TEMPLATE_FINISH = """<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>
<CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[failed: system failed]]></Status></xml>""".encode()  # noqa: E501

SCANCODE_PUSH = b"""<xml><ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>
<FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>
<CreateTime>1408090502</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[6]]></EventKey>
<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo>
</xml>"""


def deep_nesting(depth: int) -> bytes:
    return b"<xml>" + b"<a>" * depth + b"x" + b"</a>" * depth + b"</xml>"


def oversized() -> bytes:
    body = b"<xml><Content><![CDATA[" + b"A" * MAX_XML_BYTES + b"]]></Content></xml>"
    assert len(body) > MAX_XML_BYTES
    return body


HOSTILE = {
    "billion_laughs": BILLION_LAUGHS,
    "quadratic_blowup": QUADRATIC_BLOWUP,
    "xxe_file": XXE_FILE,
    "external_dtd": EXTERNAL_DTD,
    "parameter_entity": PARAMETER_ENTITY,
    "doctype_only": DOCTYPE_ONLY,
    "malformed": b"<xml><Content>unclosed</xml>",
    "truncated": TEXT_MESSAGE[:-10],
    "empty": b"",
    "not_xml": b'{"MsgType": "text"}',
    "wrong_root": b"<root><Content>x</Content></root>",
    "oversized": oversized(),
    "deep_nesting_10000": deep_nesting(10000),
    "deep_nesting_9": deep_nesting(8),
    "nul_char": b"<xml><Content>a\x00b</Content></xml>",
    "nul_char_ref": b"<xml><Content>a&#0;b</Content></xml>",
    "control_char": b"<xml><Content>a\x07b</Content></xml>",
    "gbk_invalid_bytes": b'<?xml version="1.0" encoding="gbk"?><xml><Content>\xff\xfe\x80</Content></xml>',
    "gbk_valid_bytes": '<?xml version="1.0" encoding="gbk"?><xml><Content>中文</Content></xml>'.encode("gbk"),
    "latin1_declared": b'<?xml version="1.0" encoding="ISO-8859-1"?><xml><Content>\xe9</Content></xml>',
    "invalid_utf8": b"<xml><Content>\xff\xfe</Content></xml>",
    "utf16": "<xml><Content>x</Content></xml>".encode("utf-16"),
}


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_xml_rejected_quickly(body: bytes) -> None:
    assert len(body) < 100 * 1024
    started = time.perf_counter()
    with pytest.raises(XmlError):
        parse_xml(body)
    assert time.perf_counter() - started < 1.0


def test_error_message_is_generic() -> None:
    with pytest.raises(XmlError) as info:
        parse_xml(XXE_FILE)
    assert "passwd" not in str(info.value)
    assert "Entit" not in str(info.value)


def test_exactly_max_size_is_parsed() -> None:
    head, tail = b"<xml><Content><![CDATA[", b"]]></Content></xml>"
    body = head + b"A" * (MAX_XML_BYTES - len(head) - len(tail)) + tail
    assert len(body) == MAX_XML_BYTES
    assert len(parse_xml(body)["Content"]) == MAX_XML_BYTES - len(head) - len(tail)


def test_text_message() -> None:
    assert parse_xml(TEXT_MESSAGE) == {
        "ToUserName": "toUser",
        "FromUserName": "fromUser",
        "CreateTime": "1348831860",
        "MsgType": "text",
        "Content": "this is a test",
        "MsgId": "1234567890123456",
        "MsgDataId": "xxxx",
        "Idx": "xxxx",
    }


def test_template_send_job_finish_keeps_capital_msgid() -> None:
    fields = parse_xml(TEMPLATE_FINISH)
    assert fields["MsgType"] == "event"
    assert fields["Event"] == "TEMPLATESENDJOBFINISH"
    assert fields["MsgID"] == "200163836"
    assert "MsgId" not in fields
    assert fields["Status"] == "failed: system failed"


def test_utf8_declaration_and_bom_accepted() -> None:
    body = '<?xml version="1.0" encoding="UTF-8"?><xml><Content>中文</Content></xml>'.encode()
    assert parse_xml(body)["Content"] == "中文"
    assert parse_xml(b"\xef\xbb\xbf" + body)["Content"] == "中文"


def test_nested_elements_flattened_one_level() -> None:
    fields = parse_xml(SCANCODE_PUSH)
    assert fields["Event"] == "scancode_push"
    assert fields["ScanCodeInfo.ScanType"] == "qrcode"
    assert fields["ScanCodeInfo.ScanResult"] == "1"
    assert fields["ScanCodeInfo"] == ""


def test_deeper_levels_ignored() -> None:
    body = (
        b"<xml><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum><![CDATA[abc]]></PicMd5Sum></item>"
        b"</PicList></SendPicsInfo></xml>"
    )
    fields = parse_xml(body)
    assert fields["SendPicsInfo.Count"] == "1"
    assert fields["SendPicsInfo.PicList"] == ""
    assert not any("PicMd5Sum" in key for key in fields)


def test_duplicate_tag_first_wins() -> None:
    body = b"<xml><MsgType>text</MsgType><MsgType>event</MsgType></xml>"
    assert parse_xml(body)["MsgType"] == "text"


def test_empty_element_and_whitespace_kept() -> None:
    fields = parse_xml(b"<xml><Content/><Other> x </Other><Tab>\ta\r\n</Tab></xml>")
    assert fields["Content"] == ""
    assert fields["Other"] == " x "
    assert fields["Tab"] == "\ta\n"  # XML normalises \r\n to \n


def test_text_reply_exact_bytes() -> None:
    assert build_text_reply("toUser", "fromUser", "你好", 12345678) == (
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>"
        "<CreateTime>12345678</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></xml>"
    ).encode("utf-8")


def test_chinese_content_round_trips() -> None:
    content = "你好，世界！\n第二行 emoji 😀"
    fields = parse_xml(build_text_reply("oUser", "gh_abc", content, 1700000000))
    assert fields == {
        "ToUserName": "oUser",
        "FromUserName": "gh_abc",
        "CreateTime": "1700000000",
        "MsgType": "text",
        "Content": content,
    }


@pytest.mark.parametrize("text", ["a]]>b", "]]>", "]]>]]>", "a]]]>b", "x<![CDATA[y]]>z", "<b>&amp;</b>"])
def test_escape_cdata_round_trip(text: str) -> None:
    fields = parse_xml(build_text_reply("u", "gh", text, 1))
    assert fields["Content"] == text
    assert parse_xml(build_message({"Content": text}))["Content"] == text


def test_escape_cdata_splits_terminator() -> None:
    escaped = escape_cdata("a]]>b")
    assert "]]>" in escaped  # split into two CDATA sections
    assert f"<![CDATA[{escaped}]]>".count("<![CDATA[") == 2


def test_escape_cdata_drops_characters_xml_cannot_hold() -> None:
    text = "a\x00b\x07c\td\ne"
    assert escape_cdata(text) == "ab" + "c\td\ne"
    assert parse_xml(build_message({"Content": text}))["Content"] == "abc\td\ne"


def test_news_reply() -> None:
    url, pic_url = "https://example.com/a?b=1&c=2", "https://example.com/p.jpg"
    body = build_news_reply("oUser", "gh_abc", "标题 ]]> x", "描述", url, pic_url, 12)
    assert body == (
        "<xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_abc]]></FromUserName>"
        "<CreateTime>12</CreateTime><MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount>"
        "<Articles><item><Title><![CDATA[标题 ]]]]><![CDATA[> x]]></Title><Description><![CDATA[描述]]></Description>"
        "<PicUrl><![CDATA[https://example.com/p.jpg]]></PicUrl><Url><![CDATA[https://example.com/a?b=1&c=2]]></Url>"
        "</item></Articles></xml>"
    ).encode("utf-8")
    fields = parse_xml(body)
    assert fields["MsgType"] == "news"
    assert fields["ArticleCount"] == "1"
    assert fields["Articles.item"] == ""


def test_build_message_order_and_types() -> None:
    body = build_message({"ToUserName": "gh_x", "CreateTime": 1395658920, "MsgType": "event", "MsgID": 200163836})
    assert body == (
        b"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><CreateTime>1395658920</CreateTime>"
        b"<MsgType><![CDATA[event]]></MsgType><MsgID>200163836</MsgID></xml>"
    )
    assert list(parse_xml(body)) == ["ToUserName", "CreateTime", "MsgType", "MsgID"]


@pytest.mark.parametrize("tag", ["", "1abc", "a b", "a>b", "<x"])
def test_build_message_rejects_bad_tag(tag: str) -> None:
    with pytest.raises(ValueError):
        build_message({tag: "x"})


def test_build_message_rejects_bool() -> None:
    with pytest.raises(TypeError):
        build_message({"Flag": True})


def test_nesting_up_to_limit_accepted() -> None:
    assert parse_xml(deep_nesting(7))["a.a"] == ""
