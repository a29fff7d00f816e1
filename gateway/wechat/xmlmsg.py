"""Parse untrusted WeChat XML and build passive replies.

Parsing is hardened per SECURITY.md §3: size limit, no DTD/entities, UTF-8 only, bounded depth.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

__all__ = [
    "MAX_XML_BYTES",
    "MAX_XML_DEPTH",
    "XmlError",
    "build_message",
    "build_news_reply",
    "build_text_reply",
    "escape_cdata",
    "parse_xml",
]

MAX_XML_BYTES = 65536
MAX_XML_DEPTH = 8  # the deepest WeChat push (subscribe_msg_*_event/List/...) has depth 4

_CONTROL_BYTES_RE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Characters XML 1.0 cannot carry at all, even inside CDATA.
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ENCODING_DECL_RE = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']")
_TAG_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_UTF8_NAMES = {"utf-8", "utf8"}


class XmlError(Exception):
    """The body is not an acceptable WeChat XML message."""

    def __init__(self, message: str = "invalid XML message") -> None:
        super().__init__(message)


def parse_xml(body: bytes) -> dict[str, str]:
    """Parse a WeChat `<xml>` body into {tag: text}; one level of nesting becomes "Parent.Child"."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    _precheck(body)
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError):
        raise XmlError() from None
    if root.tag != "xml":
        raise XmlError("root element must be <xml>")
    _check_depth(root)
    return _flatten(root)


def _precheck(body: bytes) -> None:
    if len(body) > MAX_XML_BYTES:
        raise XmlError("XML body too large")
    if _CONTROL_BYTES_RE.search(body):
        raise XmlError()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise XmlError() from None
    declared = _ENCODING_DECL_RE.match(body)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in _UTF8_NAMES:
        raise XmlError()


def _check_depth(root: Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise XmlError("XML nested too deeply")
        stack.extend((child, depth + 1) for child in element)


def _flatten(root: Element) -> dict[str, str]:
    # The first occurrence of a repeated tag wins, so a later duplicate cannot override it.
    fields: dict[str, str] = {}
    for child in root:
        if len(child) == 0:
            fields.setdefault(child.tag, child.text or "")
            continue
        fields.setdefault(child.tag, "")
        for grandchild in child:
            fields.setdefault(f"{child.tag}.{grandchild.tag}", grandchild.text or "")
    return fields


def escape_cdata(text: str) -> str:
    """Make `text` safe inside <![CDATA[...]]>: split "]]>" and drop characters XML cannot hold."""
    return _XML_ILLEGAL_RE.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def _element(tag: str, value: str | int) -> str:
    if not _TAG_RE.fullmatch(tag):
        raise ValueError(f"invalid XML tag name: {tag!r}")
    if isinstance(value, bool):
        raise TypeError(f"boolean value for {tag!r}; use int or str")
    if isinstance(value, int):
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}><![CDATA[{escape_cdata(value)}]]></{tag}>"


def build_message(fields: dict[str, str | int]) -> bytes:
    """Build `<xml>` with the fields in order: ints bare, strings as CDATA; UTF-8 bytes."""
    inner = "".join(_element(tag, value) for tag, value in fields.items())
    return f"<xml>{inner}</xml>".encode("utf-8")


def build_text_reply(to_user: str, from_user: str, content: str, create_time: int) -> bytes:
    """Passive text reply (WECHAT.md §3.4); to_user is the user's OpenID, from_user the gh_ id."""
    return build_message(
        {
            "ToUserName": to_user,
            "FromUserName": from_user,
            "CreateTime": create_time,
            "MsgType": "text",
            "Content": content,
        }
    )


def build_news_reply(
    to_user: str,
    from_user: str,
    title: str,
    description: str,
    url: str,
    pic_url: str,
    create_time: int,
) -> bytes:
    """Passive news reply with exactly one article (WECHAT.md §3.4)."""
    head = "".join(
        _element(tag, value)
        for tag, value in (
            ("ToUserName", to_user),
            ("FromUserName", from_user),
            ("CreateTime", create_time),
            ("MsgType", "news"),
            ("ArticleCount", 1),
        )
    )
    item = "".join(
        _element(tag, value)
        for tag, value in (("Title", title), ("Description", description), ("PicUrl", pic_url), ("Url", url))
    )
    return f"<xml>{head}<Articles><item>{item}</item></Articles></xml>".encode("utf-8")
