"""Tests for gateway.wechat.crypto against the verified vectors of WECHAT.md §10."""

from __future__ import annotations

import base64
import hmac
import os
import struct
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway.wechat import crypto
from gateway.wechat.crypto import (
    CryptoError,
    MessageCrypto,
    check_signature,
    decode_aes_key,
    decrypt_with_any,
    is_valid_aes_key,
    jssdk_signature,
    sha1_signature,
)

# V2 (wechatpy)
V2_TOKEN = "123456"
V2_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
V2_APPID = "wx49f0ab532d5d035a"
V2B_TS = "1411525903"
V2B_NONCE = "461056294"
V2B_SIG = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
V2B_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJR"
    "vZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtD"
    "h1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhc"
    "UGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
V2B_PLAIN = (
    "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
    "<FromUserName><![CDATA[messense]]></FromUserName>\n"
    "<CreateTime>1411525903</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[test]]></Content>\n"
    "<MsgId>4363689963896700987</MsgId>\n"
    "<AgentID>1</AgentID>\n"
    "</xml>"
).encode()
V2C_PLAIN = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n"
    "<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
).encode()
V2C_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5n"
    "Z+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03o"
    "xI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE"
    "8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
V2C_SIG = "407518b7649e86ef23978113f92d27afa9296533"

# V3 / V4 (WxJava official sample parameters, easywechat)
V3_TOKEN = "pamtest"
V3_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
V3_APPID = "wxb11529c136998cb6"
V3A_PLAIN = "我是中文abcd123".encode()
V3A_ENCRYPT = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
V3B_PLAIN = (
    "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName>"
    "<FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime>"
    "<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF"
    "3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA["
    "testCallBackReplyVideo]]></Description></Video></xml>"
).encode()
V3B_ENCRYPT = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaU"
    "zpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDN"
    "AYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44"
    "YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ"
    "6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hK"
    "P5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)
V3B_SIG = "ea88b765074e41eb8c7a75b449db34fa2fd560d5"
V4_ENCRYPT = (
    "rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrkTqdFPwnhqbk+kIQ7rZiwny9D"
    "7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0BtIu1pW9TjhOYrLQoU18nWYjWqDA1ynkmOytpv7QRI1P1+0N"
    "oxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjPnmB6U01I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0ktOY4nLvsQMLrourmMGdZHuTb"
    "qpeJ8Ao/5PRYJ+WBvRUwPfGKBL2+2IKZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGPe31GT2Go/rOz1BsrASwvauNulCh+++yz"
    "+CQzBIuikA=="
)
V4_PLAIN = (
    "<xml><URL><![CDATA[http://wechat.laravel.so/server]]></URL><ToUserName><![CDATA[asdasdasd]]></ToUserName>"
    "<FromUserName><![CDATA[asdasdasdsadasd]]></FromUserName><CreateTime>1234567898</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>12345</MsgId></xml>"
).encode()

# V5 (easywechat, official WeCom sample)
V5_TOKEN = "QDG6eK"
V5_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
V5_APPID = "wx5823bf96d3bd56c7"
V5_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUU"
    "kSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0"
    "ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMN"
    "S0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDB"
    "S8R07+qN+E7Q=="
)

JS_TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"


def fixed_random(value: bytes) -> Callable[[int], bytes]:
    def random_bytes(n: int) -> bytes:
        assert n == len(value)
        return value

    return random_bytes


def v3_crypto(app_id: str = V3_APPID) -> MessageCrypto:
    return MessageCrypto(V3_TOKEN, V3_KEY, app_id, random_bytes=fixed_random(b"aaaabbbbccccdddd"))


def raw_encrypt(encoding_aes_key: str, padded: bytes) -> str:
    """Encrypt already-padded bytes with the raw cipher, bypassing MessageCrypto's padding."""
    key = decode_aes_key(encoding_aes_key)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def raw_decrypt(encoding_aes_key: str, encrypt: str) -> bytes:
    key = decode_aes_key(encoding_aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()


def frame(msg: bytes, app_id: str = V3_APPID, msg_len: int | None = None) -> bytes:
    length = len(msg) if msg_len is None else msg_len
    return b"R" * 16 + struct.pack(">I", length) + msg + app_id.encode()


# --- V1: plain signatures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("test", "1410685589", "test"), "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"),
        (("AAAAA", "1714037059", "486452656"), "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
        (("789", "456", "123"), "f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
        (("a", "b", "c"), "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ],
)
def test_v1_sha1_signature(parts: tuple[str, str, str], expected: str) -> None:
    assert sha1_signature(*parts) == expected
    assert sha1_signature(*reversed(parts)) == expected


def test_v1_check_signature() -> None:
    assert check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")
    assert check_signature("AAAAA", "899cf89e464efb63f54ddac96b0a0a235f53aa78", "1714037059", "486452656")


def test_v1_check_signature_negative_twin() -> None:
    assert not check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", "1410685589", "test")


@pytest.mark.parametrize(
    ("token", "signature", "timestamp", "nonce"),
    [
        ("", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test"),
        ("test", "", "1410685589", "test"),
        ("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "", "test"),
        ("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", ""),
    ],
)
def test_check_signature_missing_input(token: str, signature: str, timestamp: str, nonce: str) -> None:
    assert not check_signature(token, signature, timestamp, nonce)


def test_check_signature_non_ascii_signature_is_false_not_error() -> None:
    assert not check_signature("test", "签名", "1410685589", "test")


def test_check_signature_uses_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, object]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(crypto.hmac, "compare_digest", spy)
    assert check_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")
    assert calls
    calls.clear()
    assert v3_crypto().check_msg_signature(V3B_SIG, "1409304348", "xxxxxx", V3B_ENCRYPT)
    assert calls


# --- V2: wechatpy ---------------------------------------------------------------------------------


def test_v2b_signature_and_decrypt() -> None:
    mc = MessageCrypto(V2_TOKEN, V2_KEY, V2_APPID)
    assert mc.msg_signature(V2B_TS, V2B_NONCE, V2B_ENCRYPT) == V2B_SIG
    assert mc.check_msg_signature(V2B_SIG, V2B_TS, V2B_NONCE, V2B_ENCRYPT)
    assert not mc.check_msg_signature(V2B_SIG[:-1] + "e", V2B_TS, V2B_NONCE, V2B_ENCRYPT)
    assert not mc.check_msg_signature(V2B_SIG, V2B_TS, "461056295", V2B_ENCRYPT)
    assert mc.decrypt(V2B_ENCRYPT) == V2B_PLAIN


def test_v2b_appid_and_random_prefix() -> None:
    raw = raw_decrypt(V2_KEY, V2B_ENCRYPT)
    assert raw[:16] == b"ec90b1530358d4d3"
    assert raw[-raw[-1] :] == bytes([raw[-1]]) * raw[-1]
    assert raw[: -raw[-1]].endswith(V2_APPID.encode())


def test_v2c_deterministic_encrypt_and_reply_xml() -> None:
    mc = MessageCrypto(V2_TOKEN, V2_KEY, V2_APPID, random_bytes=fixed_random(b"1234567890123456"))
    assert mc.encrypt(V2C_PLAIN) == V2C_ENCRYPT
    assert mc.msg_signature(V2B_TS, V2B_NONCE, V2C_ENCRYPT) == V2C_SIG
    expected = (
        "<xml>\n"
        f"<Encrypt><![CDATA[{V2C_ENCRYPT}]]></Encrypt>\n"
        f"<MsgSignature><![CDATA[{V2C_SIG}]]></MsgSignature>\n"
        "<TimeStamp>1411525903</TimeStamp>\n"
        "<Nonce><![CDATA[461056294]]></Nonce>\n"
        "</xml>"
    ).encode()
    assert mc.encrypt_reply(V2C_PLAIN, V2B_TS, V2B_NONCE) == expected
    assert mc.decrypt(V2C_ENCRYPT) == V2C_PLAIN


@pytest.mark.parametrize(("timestamp", "nonce"), [("14115<x>", "461056294"), ("1411525903", "a]]>b"), ("", "1")])
def test_encrypt_reply_rejects_unsafe_timestamp_or_nonce(timestamp: str, nonce: str) -> None:
    with pytest.raises(ValueError):
        MessageCrypto(V2_TOKEN, V2_KEY, V2_APPID).encrypt_reply(b"<xml/>", timestamp, nonce)


# --- V3: WxJava -----------------------------------------------------------------------------------


def test_v3a_encrypt_chinese_byte_length() -> None:
    mc = v3_crypto()
    assert len(V3A_PLAIN) == 19
    assert mc.encrypt(V3A_PLAIN) == V3A_ENCRYPT
    assert mc.decrypt(V3A_ENCRYPT) == V3A_PLAIN
    assert raw_decrypt(V3_KEY, V3A_ENCRYPT)[16:20] == struct.pack(">I", 19)


def test_v3b_encrypt_round_trip_and_signature() -> None:
    mc = v3_crypto()
    assert mc.encrypt(V3B_PLAIN) == V3B_ENCRYPT
    assert mc.decrypt(V3B_ENCRYPT) == V3B_PLAIN
    assert mc.msg_signature("1409304348", "xxxxxx", V3B_ENCRYPT) == V3B_SIG
    assert mc.check_msg_signature(V3B_SIG, "1409304348", "xxxxxx", V3B_ENCRYPT)


def test_round_trip_with_os_random() -> None:
    mc = MessageCrypto(V3_TOKEN, V3_KEY, V3_APPID)
    first, second = mc.encrypt(V3B_PLAIN), mc.encrypt(V3B_PLAIN)
    assert first != second
    assert mc.decrypt(first) == mc.decrypt(second) == V3B_PLAIN


# --- V4 / V5: easywechat --------------------------------------------------------------------------


def test_v4_signature_and_decrypt() -> None:
    mc = MessageCrypto(V3_TOKEN, V3_KEY, V3_APPID)
    assert mc.check_msg_signature("4f3ad57b6989f09f4eb392acce4f9e93942ed890", "1458300676", "260774613", V4_ENCRYPT)
    assert mc.decrypt(V4_ENCRYPT) == V4_PLAIN


def test_v4_wrong_appid_rejected() -> None:
    with pytest.raises(CryptoError):
        MessageCrypto(V3_TOKEN, V3_KEY, "invalid appid").decrypt(V4_ENCRYPT)


def test_v5_signature_and_decrypt() -> None:
    mc = MessageCrypto(V5_TOKEN, V5_KEY, V5_APPID)
    assert mc.check_msg_signature("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", V5_ENCRYPT)
    plain = mc.decrypt(V5_ENCRYPT).decode()
    for fragment in (
        "<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>",
        "<FromUserName><![CDATA[mycreate]]></FromUserName>",
        "<CreateTime>1409659813</CreateTime>",
        "<MsgType><![CDATA[text]]></MsgType>",
        "<Content><![CDATA[hello]]></Content>",
        "<MsgId>4561255354251345929</MsgId>",
        "<AgentID>218</AgentID>",
    ):
        assert fragment in plain


# --- V6: JS-SDK -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ticket", "noncestr", "timestamp", "url", "expected"),
    [
        (JS_TICKET, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value",
         "0f9de62fce790f9a083d5c99e95740ceb90c27ed"),
        (JS_TICKET, "Wm3WZYTPz0wzccnW", "1414587457", "http://mp.weixin.qq.com",
         "f4d90daf4b3bca3078ab155816175ba34c443a7b"),
        ("mock-ticket", "mock-nonce", "1601234567", "https://www.easywechat.com/",
         "22772d2fb393ab9f7f6a5a54168a566fbf1ab767"),
        (JS_TICKET, "Wm3WZYTPz0wzccnW", "1414587457", "http://mp.weixin.qq.com?params=value#/page?x=1",
         "0f9de62fce790f9a083d5c99e95740ceb90c27ed"),
    ],
)  # fmt: skip
def test_v6_jssdk_signature(ticket: str, noncestr: str, timestamp: str | int, url: str, expected: str) -> None:
    assert jssdk_signature(ticket, noncestr, timestamp, url) == expected


# --- V7: padding edge -----------------------------------------------------------------------------


def test_v7_full_block_padding() -> None:
    msg = b"M" * (-(16 + 4 + len(V3_APPID)) % 32)
    assert (16 + 4 + len(msg) + len(V3_APPID)) % 32 == 0
    mc = v3_crypto()
    encrypted = mc.encrypt(msg)
    raw = raw_decrypt(V3_KEY, encrypted)
    unpadded_len = 16 + 4 + len(msg) + len(V3_APPID)
    assert len(raw) == unpadded_len + 32
    assert raw[-32:] == b"\x20" * 32
    assert mc.decrypt(encrypted) == msg


def test_padding_every_length_round_trips() -> None:
    mc = MessageCrypto(V3_TOKEN, V3_KEY, V3_APPID)
    for size in range(70):
        msg = os.urandom(size)
        encrypted = mc.encrypt(msg)
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert mc.decrypt(encrypted) == msg


# --- Negative decrypt cases -----------------------------------------------------------------------


def assert_rejected(encrypt: str) -> None:
    with pytest.raises(CryptoError) as info:
        v3_crypto().decrypt(encrypt)
    assert str(info.value) == "invalid encrypted message"
    assert V3_KEY not in str(info.value)


@pytest.mark.parametrize(
    "encrypt",
    [
        "not base64!!",
        V3A_ENCRYPT[:-2] + "=",  # bad base64 padding
        V3A_ENCRYPT.replace("+", "-"),  # URL-safe alphabet is not accepted
        "",
        "中文",
    ],
)
def test_bad_base64_rejected(encrypt: str) -> None:
    assert_rejected(encrypt)


def test_ciphertext_not_multiple_of_16_rejected() -> None:
    raw = base64.b64decode(V3A_ENCRYPT)
    assert_rejected(base64.b64encode(raw[:-1]).decode())
    assert_rejected(base64.b64encode(raw + b"\x00" * 5).decode())


def test_ciphertext_multiple_of_16_but_not_32_rejected() -> None:
    raw = base64.b64decode(V3B_ENCRYPT)
    assert len(raw) % 32 == 0
    assert_rejected(base64.b64encode(raw[:-16]).decode())


def pad_to_32(data: bytes, fill: int) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([fill]) * n


@pytest.mark.parametrize("pad_byte", [0, 33, 255])
def test_pad_byte_out_of_range_rejected(pad_byte: int) -> None:
    padded = pad_to_32(frame(b"<xml>hello</xml>"), pad_byte)
    assert padded[-1] == pad_byte
    assert_rejected(raw_encrypt(V3_KEY, padded))


def test_inconsistent_pad_bytes_rejected() -> None:
    data = frame(b"<xml>hello</xml>")
    n = 32 - len(data) % 32
    assert n > 2
    padded = data + bytes([n - 1]) + bytes([n]) * (n - 1)
    assert_rejected(raw_encrypt(V3_KEY, padded))


def test_valid_manual_padding_accepted() -> None:
    data = frame(b"<xml>hello</xml>")
    n = 32 - len(data) % 32
    assert v3_crypto().decrypt(raw_encrypt(V3_KEY, data + bytes([n]) * n)) == b"<xml>hello</xml>"


def test_msg_len_past_end_rejected() -> None:
    data = frame(b"<xml>hello</xml>", msg_len=1000)
    n = 32 - len(data) % 32
    assert_rejected(raw_encrypt(V3_KEY, data + bytes([n]) * n))


def test_content_shorter_than_header_rejected() -> None:
    assert_rejected(raw_encrypt(V3_KEY, b"short" + bytes([27]) * 27))


def test_appid_suffix_mismatch_rejected() -> None:
    data = frame(b"<xml>hello</xml>", app_id=V3_APPID + "x")
    n = 32 - len(data) % 32
    assert_rejected(raw_encrypt(V3_KEY, data + bytes([n]) * n))


def test_wrong_key_rejected() -> None:
    with pytest.raises(CryptoError):
        MessageCrypto(V3_TOKEN, V5_KEY, V3_APPID).decrypt(V3B_ENCRYPT)


# --- Keys -----------------------------------------------------------------------------------------


def test_decode_aes_key() -> None:
    key = decode_aes_key(V3_KEY)
    assert len(key) == 32
    assert key == base64.b64decode(V3_KEY + "=")
    assert is_valid_aes_key(V2_KEY)


@pytest.mark.parametrize(
    "bad_key",
    [V3_KEY[:42], V3_KEY + "H", V3_KEY[:42] + "+", V3_KEY[:42] + "/", V3_KEY[:42] + "=", V3_KEY + "\n", "", "中" * 43],
)
def test_bad_aes_keys_rejected(bad_key: str) -> None:
    assert not is_valid_aes_key(bad_key)
    with pytest.raises(CryptoError) as info:
        decode_aes_key(bad_key)
    assert str(info.value) == "invalid EncodingAESKey"
    with pytest.raises(CryptoError):
        MessageCrypto(V3_TOKEN, bad_key, V3_APPID)


def test_repr_hides_key() -> None:
    assert V3_KEY not in repr(v3_crypto())
    assert "key" not in repr(v3_crypto()).lower()


# --- Key rotation ---------------------------------------------------------------------------------


def test_decrypt_with_any_falls_back_to_previous_key() -> None:
    current = MessageCrypto(V3_TOKEN, V5_KEY, V3_APPID)
    previous = MessageCrypto(V3_TOKEN, V3_KEY, V3_APPID)
    plaintext, used = decrypt_with_any([current, previous], V3B_ENCRYPT)
    assert plaintext == V3B_PLAIN
    assert used is previous


def test_decrypt_with_any_prefers_current_key() -> None:
    current = MessageCrypto(V3_TOKEN, V3_KEY, V3_APPID)
    previous = MessageCrypto(V3_TOKEN, V5_KEY, V3_APPID)
    plaintext, used = decrypt_with_any([current, previous], V4_ENCRYPT)
    assert plaintext == V4_PLAIN
    assert used is current


def test_decrypt_with_any_none_match() -> None:
    with pytest.raises(CryptoError):
        decrypt_with_any([MessageCrypto(V3_TOKEN, V5_KEY, V3_APPID)], V3B_ENCRYPT)
    with pytest.raises(CryptoError):
        decrypt_with_any([], V3B_ENCRYPT)
