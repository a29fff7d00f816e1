"""Parse untrusted WeChat XML and build passive replies.

Parsing is hardened per SECURITY.md §3: size limit, no DTD/entities, UTF-8 only, bounded depth.
"""

from __future__ import annotations

import re
from xml.parsers import expat

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
    reader = _FlatReader()
    try:
        reader.parse(body)
    except (expat.ExpatError, ValueError, LookupError):
        raise XmlError() from None
    if reader.root != "xml":
        raise XmlError("root element must be <xml>")
    return reader.fields


class _FlatReader:
    """Streams the XML through expat straight into the flat dict (no element tree): a DOCTYPE, and so
    any entity declaration, is refused the moment it starts, as defusedxml's forbid_dtd does, and
    depth is checked as elements open. Text of an element is what comes before its first child,
    as ElementTree's `.text`; the first occurrence of a repeated tag wins."""

    __slots__ = ("fields", "root", "_stack")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.root = ""
        # Per open element: [tag, text chunks before its first child, has children].
        self._stack: list[list] = []

    def parse(self, body: bytes) -> None:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = _refuse
        parser.EntityDeclHandler = _refuse
        parser.UnparsedEntityDeclHandler = _refuse
        parser.ExternalEntityRefHandler = _refuse
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.Parse(body, True)

    def _start(self, name: str, attributes: object) -> None:
        stack = self._stack
        if len(stack) >= MAX_XML_DEPTH:
            raise XmlError("XML nested too deeply")
        if "}" in name:
            name = "{" + name  # ElementTree's spelling of a namespaced tag
        if stack:
            stack[-1][2] = True
        else:
            self.root = name
        stack.append([name, [], False])

    def _text(self, data: str) -> None:
        top = self._stack[-1]
        if not top[2]:  # text after a child is that child's tail, not this element's text
            top[1].append(data)

    def _end(self, name: str) -> None:
        stack = self._stack
        tag, chunks, has_children = stack.pop()
        depth = len(stack)
        if depth == 1:
            self.fields.setdefault(tag, "" if has_children else "".join(chunks))
        elif depth == 2:
            self.fields.setdefault(f"{stack[1][0]}.{tag}", "".join(chunks))


def _refuse(*args: object) -> None:
    raise XmlError("DTDs and entities are not accepted")


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
