"""Alibaba's Python device SDK (aliyun-iot-linkkit 1.2.13 on paho-mqtt 1.6.1)
as a client of burnline-emulator, for tests/mqtt_sdk_clients.rs.

    linkkit_client.py login    PORT CA|- PK DN DS HOLD_S
    linkkit_client.py register PORT CA|- PK DN PS
    linkkit_client.py regnwl   PORT CA|- PK DN PS
    linkkit_client.py connwl   PORT CA|- PK DN CLIENT_ID USERNAME TOKEN HOLD_S

CA `-` means plain TCP (securemode 3), else TLS trusting only that CA file
(the SDK's `cadata` replaces its built-in roots; verification stays on).
Prints one result line: `connect rc=N`, `register secret=...`,
`regnwl client_id=... username=... token=...`, or `timeout`; exits 0 when
the SDK reported success. The SDK reports a refused CONNACK to nobody (it
retries), so paho's own log goes to stderr: `Received CONNACK (0, 5)`.
LINKKIT_WAIT (seconds, default 15) bounds the wait for an answer.
"""
import logging
import os
import sys
import threading
import time

from linkkit import linkkit

mode, port, ca, pk, dn = sys.argv[1:6]
rest = sys.argv[6:]
done = threading.Event()
result = {}

kwargs = dict(host_name="127.0.0.1", product_key=pk, device_name=dn, device_secret="")
if mode == "login":
    kwargs["device_secret"] = rest[0]
elif mode in ("register", "regnwl"):
    kwargs["product_secret"] = rest[0]
    kwargs["auth_type"] = mode
elif mode == "connwl":
    kwargs["client_id"], kwargs["username"], kwargs["password"] = rest[0], rest[1], rest[2]
lk = linkkit.LinkKit(**kwargs)
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
lk.enable_logger(logging.DEBUG)
if ca == "-":
    lk.config_mqtt(port=int(port), secure="", auto_reconnect_min_sec=60, auto_reconnect_max_sec=60)
else:
    with open(ca) as f:
        lk.config_mqtt(port=int(port), cadata=f.read(), auto_reconnect_min_sec=60,
                       auto_reconnect_max_sec=60)


def on_connect(session_flag, rc, userdata):
    # For a registration, CONNACK 0 only means the answer comes next.
    if mode in ("login", "connwl") or rc != 0:
        result.setdefault("line", "connect rc=%d" % rc)
        result.setdefault("ok", rc == 0)
        done.set()


def on_register(rc, value, userdata):
    result["line"] = "register secret=%s" % value
    result["ok"] = rc == 0
    done.set()


def on_regnwl(rc, client_id, username, password):
    result["line"] = "regnwl client_id=%s username=%s token=%s" % (client_id, username, password)
    result["ok"] = rc == 0
    done.set()


lk.on_connect = on_connect
lk.on_device_dynamic_register = on_register
lk.on_device_dynamic_register_nwl_reply = on_regnwl
lk.connect_async()
done.wait(float(os.environ.get("LINKKIT_WAIT", "15")))
print(result.get("line", "timeout"), flush=True)
if result.get("ok") and mode in ("login", "connwl"):
    time.sleep(float(rest[-1]))
    lk.disconnect()
    time.sleep(0.5)
os._exit(0 if result.get("ok") else 1)
