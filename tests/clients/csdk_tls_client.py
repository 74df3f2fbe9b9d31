"""A client that meets the emulator as Alibaba's C SDKs do (Link SDK 4.x,
iotkit-embedded 3.x), for tests/emulator_csdk.rs: TLS 1.2 only, with only
the four suites their bundled mbedtls has (RSA key exchange, AES-CBC),
verification on against the test CA; HTTP answers parsed as 4.x's
core_http.c does (the header line must start with `Content-Length: `, case
and all); the MQTT ClientID, username and password as 4.x's core_auth.c
makes them (upper hex HMAC-SHA256, the fixed timestamp).

    csdk_tls_client.py https-register PORT CA PK DN PS
    csdk_tls_client.py mqtt-login     PORT CA PK DN DS
    csdk_tls_client.py mqtt-register  PORT CA PK DN PS

Prints `cipher=NAME` (the suite negotiated), then `register secret=...` or
`connect rc=N`; exits 0 on success. paho-mqtt 1.6.1 does the MQTT.
"""
import hashlib
import hmac
import json
import socket
import ssl
import sys
import threading

import paho.mqtt.client as mqtt

SUITES = "AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA"
HOST = "127.0.0.1"


def context(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(SUITES)
    ctx.load_verify_locations(ca)
    return ctx


def sign(key, text):
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def https_register(port, ca, pk, dn, ps):
    rnd = "8Ygb7ULYh53B6OA"
    s = sign(ps, "deviceName%sproductKey%srandom%s" % (dn, pk, rnd))
    body = "productKey=%s&deviceName=%s&random=%s&sign=%s&signMethod=hmacsha256" % (pk, dn, rnd, s)
    req = ("POST /auth/register/device HTTP/1.1\r\nHost: %s\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
           % (HOST, len(body), body))
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with context(ca).wrap_socket(raw, server_hostname=HOST) as tls:
            print("cipher=%s" % tls.cipher()[0], flush=True)
            tls.sendall(req.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = None
            for line in head.split(b"\r\n")[1:]:
                # core_http.c: memcmp(line, "Content-Length: ", 16)
                if line[:16] == b"Content-Length: ":
                    length = int(line[16:])
            if length is None:
                print("no `Content-Length: ` header line: %r" % head, flush=True)
                return 1
            while len(rest) < length:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                rest += chunk
    answer = json.loads(rest[:length])
    secret = answer.get("data", {}).get("deviceSecret")
    print("register secret=%s code=%s" % (secret, answer.get("code")), flush=True)
    return 0 if secret else 1


def mqtt_client(port, ca, client_id, username, password):
    done = threading.Event()
    result = {}
    c = mqtt.Client(client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311)
    c.username_pw_set(username, password)
    c.tls_set_context(context(ca))

    def on_connect(client, userdata, flags, rc):
        result["rc"] = rc
        print("cipher=%s" % client.socket().cipher()[0], flush=True)
        print("connect rc=%d" % rc, flush=True)
        if rc != 0:
            done.set()

    def on_message(client, userdata, msg):
        result["message"] = (msg.topic, msg.payload)
        done.set()

    c.on_connect = on_connect
    c.on_message = on_message
    c.connect(HOST, port, keepalive=60)
    return c, done, result


def mqtt_login(port, ca, pk, dn, ds):
    client_id = "%s.%s" % (pk, dn)
    ts = "2524608000000"
    cid = "%s|timestamp=%s,_ss=1,_v=sdk-c-4.x,securemode=2,signmethod=hmacsha256,ext=3,|" % (client_id, ts)
    pw = sign(ds, "clientId%sdeviceName%sproductKey%stimestamp%s" % (client_id, dn, pk, ts))
    c, done, result = mqtt_client(port, ca, cid, "%s&%s" % (dn, pk), pw)
    c.loop_start()
    for _ in range(100):
        if "rc" in result:
            break
        done.wait(0.1)
    c.disconnect()
    c.loop_stop()
    return 0 if result.get("rc") == 0 else 1


def mqtt_register(port, ca, pk, dn, ps):
    rnd = "8Ygb7ULYh53B6OA"
    cid = "%s.%s|random=%s,authType=register,securemode=2,signmethod=hmacsha256|" % (dn, pk, rnd)
    pw = sign(ps, "deviceName%sproductKey%srandom%s" % (dn, pk, rnd))
    c, done, result = mqtt_client(port, ca, cid, "%s&%s" % (dn, pk), pw)
    c.loop_start()
    done.wait(10)
    c.disconnect()
    c.loop_stop()
    if "message" not in result:
        print("no answer", flush=True)
        return 1
    topic, payload = result["message"]
    secret = json.loads(payload).get("deviceSecret")
    print("register topic=%s secret=%s" % (topic, secret), flush=True)
    return 0 if secret else 1


mode, port, ca, pk, dn, key = sys.argv[1:7]
run = {"https-register": https_register, "mqtt-login": mqtt_login,
       "mqtt-register": mqtt_register}[mode]
sys.exit(run(int(port), ca, pk, dn, key))
