"""The WeChat callback (WX-1) against wechatpy 1.8 as the platform's side.

wechatpy signs the requests (WeChatSigner), seals safe-mode messages (WeChatCrypto.encrypt_message)
and opens jszg's encrypted replies (WeChatCrypto.decrypt_message); xmltodict, its XML library,
builds and reads the messages. Starts the jszg binary in $JSZG_BIN on a fresh SQLite database, or on
$JSZG_PEER_DATABASE_URL.

    JSZG_BIN=target/release/jszg python3 crates/jszg/tests/peers/wechat/callback.py
"""

import concurrent.futures
import os
import random
import socket
import statistics
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "jszg-peer-token"
# The key of wechatpy's own tests: its last character leaves non-zero trailing bits.
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
APP_ID = "wx49f0ab532d5d035a"
ACCOUNT = "gh_jszg_peer"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, aes_key=AES_KEY):
        self.dir = tempfile.mkdtemp()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update({
            "JSZG_BIND": f"127.0.0.1:{self.port}",
            "JSZG_DATABASE_URL": os.environ.get("JSZG_PEER_DATABASE_URL") or f"sqlite://{self.dir}/jszg.db",
            "JSZG_DEV": "1",
            "JSZG_LOG": "info",
            "JSZG_WECHAT__APP_ID": APP_ID,
            "JSZG_WECHAT__APP_SECRET": "peer-secret",
            "JSZG_WECHAT__TOKEN": TOKEN,
            "JSZG_WECHAT__ENCODING_AES_KEY": aes_key,
            # Nothing here should call the platform's API: point it at a closed port.
            "JSZG_WECHAT__API_BASE": f"http://127.0.0.1:{free_port()}",
        })
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([os.path.abspath(os.environ["JSZG_BIN"]), "serve"], cwd=self.dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=1)
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("jszg did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def fresh_nonce():
    # The platform sends a new nonce with every push; a signed query carries one body only.
    return str(random.randint(100000000, 999999999))


def signed_query(extra=None, timestamp=None, nonce=None, token=TOKEN):
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or fresh_nonce()
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    q = {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, "openid": "o_peer"}
    q.update(extra or {})
    return q


def message(kind, openid="o_peer", created=None, **fields):
    body = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": str(created or int(time.time())), "MsgType": kind}
    body.update(fields)
    return xmltodict.unparse({"xml": body}, full_document=False)


def call(server, method, query, body=None):
    url = server.base + "/wechat/callback?" + urllib.parse.urlencode(query)
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Callback(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Safe mode (what production should run) and, as a second account, plaintext mode.
        cls.server = Server()
        cls.plain_server = Server(aes_key="")
        cls.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    @classmethod
    def tearDownClass(cls):
        for server in (cls.server, cls.plain_server):
            server.stop()
            with open(os.path.join(server.dir, "server.log")) as f:
                log = f.read()
            assert AES_KEY not in log and "peer-secret" not in log, "a secret reached the log"

    def plain(self, xml, **extra):
        return call(self.plain_server, "POST", signed_query(extra), xml)

    def sealed(self, xml, timestamp=None, nonce=None, tamper=False, server=None):
        timestamp = str(timestamp or int(time.time()))
        nonce = nonce or fresh_nonce()
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        msg_signature = envelope["MsgSignature"]
        if tamper:
            msg_signature = ("0" if msg_signature[0] != "0" else "1") + msg_signature[1:]
        body = xmltodict.unparse({"xml": {"ToUserName": ACCOUNT, "Encrypt": envelope["Encrypt"]}}, full_document=False)
        q = signed_query({"encrypt_type": "aes", "msg_signature": msg_signature}, timestamp=timestamp, nonce=nonce)
        self.last_sealed = (q, body)
        return call(server or self.server, "POST", q, body), timestamp, nonce

    def test_safe_mode_cannot_be_downgraded_nor_its_signature_replayed(self):
        # Hardening round 2, item 5: a captured safe-mode call...
        (status, _), _, _ = self.sealed(message("text", openid="o_victim", Content="你好", MsgId="1000000000000000900"))
        self.assertEqual(status, 200)
        q, body = self.last_sealed
        # ...cannot carry a plaintext body (with or without its encryption parameters)...
        forged = message("text", openid="o_attacker", Content="取验证码", MsgId="1000000000000000901")
        bare = {k: v for k, v in q.items() if k not in ("encrypt_type", "msg_signature")}
        self.assertEqual(call(self.server, "POST", bare, forged)[0], 401)
        self.assertEqual(call(self.server, "POST", q, forged)[0], 401)
        # ...nor another sealed body under the same URL signature.
        other = self.crypto.encrypt_message(forged, q["nonce"], q["timestamp"])
        other_body = xmltodict.unparse({"xml": {"ToUserName": ACCOUNT, "Encrypt": xmltodict.parse(other)["xml"]["Encrypt"]}}, full_document=False)
        self.assertEqual(call(self.server, "POST", q, other_body)[0], 401)
        # The platform's own retry (the same body) is still answered.
        self.assertEqual(call(self.server, "POST", q, body)[0], 200)

    def test_url_verification_needs_a_fresh_timestamp(self):
        month_ago = int(time.time()) - 30 * 86400
        q = signed_query({"echostr": "8012419366958765519"}, timestamp=month_ago)
        self.assertEqual(call(self.server, "GET", q)[0], 401)

    def test_url_verification(self):
        q = signed_query({"echostr": "8012419366958765519"})
        self.assertEqual(call(self.server, "GET", q), (200, "8012419366958765519"))
        bad = dict(q, signature="0" * 40)
        self.assertEqual(call(self.server, "GET", bad)[0], 401)

    def test_plaintext_text_message_gets_a_passive_reply(self):
        status, body = self.plain(message("text", openid="o_plain", Content="你好", MsgId="1000000000000000001"))
        self.assertEqual(status, 200)
        reply = parse_message(body)
        self.assertEqual(reply.type, "text")
        self.assertEqual(reply.source, ACCOUNT, "the reply comes from the service account")
        self.assertEqual(reply.target, "o_plain")
        parsed = xmltodict.parse(body)["xml"]
        self.assertEqual(parsed["ToUserName"], "o_plain")
        self.assertEqual(parsed["FromUserName"], ACCOUNT)
        self.assertIn("中国教师资格网", parsed["Content"])

    def test_safe_mode_round_trip(self):
        (status, body), timestamp, nonce = self.sealed(message("event", Event="subscribe", EventKey=""))
        self.assertEqual(status, 200, body)
        envelope = xmltodict.parse(body)["xml"]
        self.assertEqual(envelope["TimeStamp"], timestamp)
        self.assertEqual(envelope["Nonce"], nonce)
        # wechatpy checks MsgSignature, opens the AES layer and checks the app id trailer.
        inner = self.crypto.decrypt_message(body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        parsed = xmltodict.parse(inner)["xml"]
        self.assertEqual(parsed["ToUserName"], "o_peer")
        self.assertIn("感谢关注中国教师资格服务号", parsed["Content"])

    def test_every_padding_length_is_opened(self):
        # Contents of every length mod 32: half of them pad past 16 bytes.
        for n in range(32):
            (status, body), _, _ = self.sealed(message("text", Content="x" * (n + 1), MsgId=str(2000000000000000000 + n)))
            self.assertEqual(status, 200)
            self.assertIn("<Encrypt>", body, f"length {n + 1}: {body}")

    def test_a_registration_code_in_safe_mode(self):
        (status, body), _, _ = self.sealed(message("event", openid="o_code", Event="CLICK", EventKey="GET_CODE"))
        ask = self.open_reply(body)
        self.assertIn("请输入您注册时填写的证件号码", ask["Content"])
        (status, body), _, _ = self.sealed(message("text", openid="o_code", Content="11010519491231002X", MsgId="6000000000000000001"))
        reply = self.open_reply(body)
        self.assertRegex(reply["Content"], r"您的注册验证码为\d{6}")
        self.assertNotIn("11010519491231002X", reply["Content"])

    def open_reply(self, body):
        envelope = xmltodict.parse(body)["xml"]
        inner = self.crypto.decrypt_message(body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return xmltodict.parse(inner)["xml"]

    def test_a_retry_is_answered_without_acting_twice(self):
        xml = message("text", Content="取验证码", MsgId="3000000000000000001")
        first = self.plain(xml)
        second = self.plain(xml)
        self.assertEqual(first[0], 200)
        self.assertIn("<Content>", first[1])
        self.assertEqual(second, (200, "success"))
        created = int(time.time()) - 7
        event = message("event", created=created, Event="subscribe", EventKey="")
        self.assertIn("感谢关注", self.plain(event)[1])
        self.assertEqual(self.plain(event), (200, "success"))
        # Another follower at the same second is another event.
        other = message("event", openid="o_other", created=created, Event="subscribe", EventKey="")
        self.assertIn("感谢关注", self.plain(other)[1])

    def test_bad_signatures_get_401_and_nothing_is_done(self):
        xml = message("text", Content="你好", MsgId="4000000000000000001")
        q = signed_query()
        q["signature"] = "f" * 40
        self.assertEqual(call(self.server, "POST", q, xml)[0], 401)
        self.assertEqual(call(self.server, "POST", signed_query(token="another-token"), xml)[0], 401)
        self.assertEqual(call(self.server, "POST", {}, xml)[0], 401)
        # A replay of an old, correctly signed request.
        self.assertEqual(call(self.server, "POST", signed_query(timestamp=int(time.time()) - 3600), xml)[0], 401)
        (status, _), _, _ = self.sealed(message("text", Content="你好", MsgId="4000000000000000002"), tamper=True)
        self.assertEqual(status, 401)
        # Nothing was recorded: the genuine message is still answered the first time.
        self.assertIn("<Content>", self.plain(xml)[1])

    def test_unreadable_signed_bodies_get_success_never_an_error(self):
        for body in ["", "<xml>", "not xml at all", "<xml><ToUserName>x</ToUserName></xml>",
                     '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>',
                     "<xml>" + "<A>b</A>" * 5000 + "</xml>", b"\xff\xfe<xml></xml>"]:
            status, reply = self.plain(body)
            self.assertEqual((status, reply), (200, "success"), repr(body[:40]))
        self.assertEqual(call(self.server, "GET", {"echostr": "x"})[0], 401)
        q = signed_query({"encrypt_type": "aes", "msg_signature": "0" * 40})
        self.assertEqual(call(self.server, "POST", q, "<xml><Encrypt><![CDATA[!!!]]></Encrypt></xml>")[0], 401)

    def test_thirty_two_concurrent_messages_are_answered_within_five_seconds(self):
        def one(i):
            xml = message("text", openid=f"o_load_{i}", Content="你好", MsgId=str(5000000000000000000 + i))
            start = time.perf_counter()
            (status, body), _, _ = self.sealed(xml)
            return status, body, time.perf_counter() - start

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = list(pool.map(one, range(32)))
        times = sorted(t for _, _, t in results)
        self.assertTrue(all(status == 200 and "<Encrypt>" in body for status, body, _ in results))
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        print(f"\n32 concurrent safe-mode messages: p50 {statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
        self.assertLess(times[-1], 5.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
