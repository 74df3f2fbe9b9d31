"""Alibaba's own OpenAPI SDKs against the emulator's --openapi listener.

    openapi_client.py SDK HOST:PORT ACTION ARGS...

SDK is `tea` (alibabacloud-iot20180120, signature V3 ACS3-HMAC-SHA256),
`tea-v2` (the same with signature_algorithm="v2", HMAC-SHA1) or `old`
(aliyun-python-sdk-iot + aliyun-python-sdk-core, HMAC-SHA1). The AccessKey
comes from OPENAPI_AK_ID and the file OPENAPI_AK_SECRET_FILE, never from the
command line.
Nothing printed holds a secret: DeviceSecrets go to a CSV file (mode 0600).

Actions (each prints one line per fact the test checks):
  create PK PREFIX COUNT CSV   check, register, wait, page 50 at a time
  check PK NAME...             a check with bad names, then its register
  states PK NAME...            BatchGetDeviceState: `NAME STATUS` lines
  states-id IOTID...           the same by IotId
  reset PK NAME                ResetThing
  delete PK NAME               DeleteDevice by ProductKey + DeviceName
  delete-id IOTID              DeleteDevice by IotId
  refusals PK                  bad secret, unknown AccessKey, reused nonce,
                               stale timestamp: `CASE STATUS CODE` lines
"""

import csv
import datetime
import json
import os
import sys
import time
import uuid

SDK, ENDPOINT, ACTION, ARGS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
AK_ID = os.environ["OPENAPI_AK_ID"]
with open(os.environ["OPENAPI_AK_SECRET_FILE"]) as f:
    AK_SECRET = f.read().strip()


class Refused(Exception):
    """A gateway refusal: HTTP status and Code."""

    def __init__(self, status, code):
        super().__init__(f"{status} {code}")
        self.status, self.code = status, code


class Tea:
    """alibabacloud-iot20180120 (Tea)."""

    def __init__(self, secret=AK_SECRET, ak_id=AK_ID):
        from alibabacloud_tea_openapi import models as open_api_models
        from alibabacloud_iot20180120.client import Client
        from alibabacloud_iot20180120 import models

        cfg = open_api_models.Config(
            access_key_id=ak_id,
            access_key_secret=secret,
            endpoint=ENDPOINT,
            protocol="HTTP",
        )
        if SDK == "tea-v2":
            cfg.signature_algorithm = "v2"
        self.c, self.m = Client(cfg), models

    def call(self, method, request_class, **kw):
        try:
            return getattr(self.c, method)(getattr(self.m, request_class)(**kw)).body.to_map()
        except Exception as e:  # the SDK's ClientException
            if getattr(e, "status_code", None) is None:
                raise
            data = getattr(e, "data", None) or {}
            assert all(k in data for k in ("RequestId", "HostId", "Code", "Message", "Recommend")), data
            raise Refused(e.status_code, e.code)

    def check(self, pk, names):
        return self.call("batch_check_device_names", "BatchCheckDeviceNamesRequest", product_key=pk, device_name=names)

    def register(self, pk, apply_id):
        return self.call("batch_register_device_with_apply_id", "BatchRegisterDeviceWithApplyIdRequest", product_key=pk, apply_id=apply_id)

    def status(self, pk, apply_id):
        return self.call("query_batch_register_device_status", "QueryBatchRegisterDeviceStatusRequest", product_key=pk, apply_id=apply_id)

    def page(self, apply_id, size, current):
        return self.call("query_page_by_apply_id", "QueryPageByApplyIdRequest", apply_id=apply_id, page_size=size, current_page=current)

    def states(self, pk, names):
        return self.call("batch_get_device_state", "BatchGetDeviceStateRequest", product_key=pk, device_name=names)

    def states_by_id(self, ids):
        return self.call("batch_get_device_state", "BatchGetDeviceStateRequest", iot_id=ids)

    def reset(self, pk, name):
        return self.call("reset_thing", "ResetThingRequest", product_key=pk, device_name=name)

    def delete(self, pk=None, name=None, iot_id=None):
        return self.call("delete_device", "DeleteDeviceRequest", product_key=pk, device_name=name, iot_id=iot_id)

    @staticmethod
    def pin(nonce=None, timestamp=None):
        from alibabacloud_tea_openapi.utils import Utils

        if nonce:
            Utils.get_nonce = staticmethod(lambda: nonce)
        if timestamp:
            Utils.get_timestamp = staticmethod(lambda: timestamp)


class Old:
    """aliyun-python-sdk-iot with aliyun-python-sdk-core."""

    def __init__(self, secret=AK_SECRET, ak_id=AK_ID):
        from aliyunsdkcore.client import AcsClient

        self.c = AcsClient(ak_id, secret, "cn-shanghai")

    def call(self, name, **setters):
        import importlib
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        module = importlib.import_module(f"aliyunsdkiot.request.v20180120.{name}Request")
        req = getattr(module, f"{name}Request")()
        for k, v in setters.items():
            if v is not None:
                getattr(req, f"set_{k}")(v)
        req.set_endpoint(ENDPOINT)
        req.set_protocol_type("http")
        try:
            return json.loads(self.c.do_action_with_exception(req))
        except ServerException as e:
            raise Refused(e.get_http_status(), e.get_error_code())

    def check(self, pk, names):
        return self.call("BatchCheckDeviceNames", ProductKey=pk, DeviceNames=names)

    def register(self, pk, apply_id):
        return self.call("BatchRegisterDeviceWithApplyId", ProductKey=pk, ApplyId=apply_id)

    def status(self, pk, apply_id):
        return self.call("QueryBatchRegisterDeviceStatus", ProductKey=pk, ApplyId=apply_id)

    def page(self, apply_id, size, current):
        return self.call("QueryPageByApplyId", ApplyId=apply_id, PageSize=size, CurrentPage=current)

    def states(self, pk, names):
        return self.call("BatchGetDeviceState", ProductKey=pk, DeviceNames=names)

    def states_by_id(self, ids):
        return self.call("BatchGetDeviceState", IotIds=ids)

    def reset(self, pk, name):
        return self.call("ResetThing", ProductKey=pk, DeviceName=name)

    def delete(self, pk=None, name=None, iot_id=None):
        return self.call("DeleteDevice", ProductKey=pk, DeviceName=name, IotId=iot_id)

    @staticmethod
    def pin(nonce=None, timestamp=None):
        from aliyunsdkcore.utils import parameter_helper

        if nonce:
            parameter_helper.get_uuid = lambda: nonce
        if timestamp:
            parameter_helper.get_iso_8061_date = lambda: timestamp


SDKS = {"tea": Tea, "tea-v2": Tea, "old": Old}


def outcome(body):
    """`Success` or the business Code."""
    return "Success" if body.get("Success") else body.get("Code")


def create(api, pk, prefix, count, path):
    names = [f"{prefix}{i:04d}" for i in range(1, count + 1)]
    body = api.check(pk, names)
    assert body["Success"], body
    apply_id = body["Data"]["ApplyId"]
    print("repeated", len(body["Data"]["RepeatedDeviceNameList"]["RepeatDevieNameList"]))
    print("register", outcome(api.register(pk, apply_id)))
    deadline = time.time() + 10
    while True:
        status = api.status(pk, apply_id)["Data"]["Status"]
        if status in ("CREATE_SUCCESS", "CREATE_FAILED", "CHECK_FAILED") or time.time() > deadline:
            break
        time.sleep(0.2)
    print("status", status)
    devices, page = [], 1
    while True:
        body = api.page(apply_id, 50, page)
        got = body["ApplyDeviceList"]["ApplyDeviceInfo"]
        print("page", body["Page"], len(got), "of", body["PageCount"], "total", body["Total"])
        devices += got
        if page >= body["PageCount"]:
            break
        page += 1
    print("page-size-51", outcome(api.page(apply_id, 51, 1)))
    print("created", len(devices), "distinct", len({d["DeviceName"] for d in devices}))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["DeviceName", "DeviceSecret", "IotId", "ProductKey"])
        for d in devices:
            w.writerow([d["DeviceName"], d["DeviceSecret"], d["IotId"], pk])


def states(body):
    if not body.get("Success"):
        print("states", body.get("Code"))
        return
    for d in body["DeviceStatusList"]["DeviceStatus"]:
        print(d["DeviceName"], d["Status"], "last-online" if d["LastOnlineTime"] else "never")


def refusals(pk):
    cases = [
        ("bad-signature", lambda: SDKS[SDK](secret="not-the-secret").states(pk, ["x"])),
        ("unknown-access-key", lambda: SDKS[SDK](ak_id="LTAI-nobody").states(pk, ["x"])),
    ]
    for name, run in cases:
        try:
            run()
            print(name, "accepted")
        except Refused as r:
            print(name, r.status, r.code)
    api = SDKS[SDK]()
    api.pin(nonce=uuid.uuid4().hex)
    for name in ("first-use-of-nonce", "reused-nonce"):
        try:
            print(name, outcome(api.states(pk, ["x"])))
        except Refused as r:
            print(name, r.status, r.code)
    stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
    api.pin(nonce=uuid.uuid4().hex, timestamp=stale.strftime("%Y-%m-%dT%H:%M:%SZ"))
    try:
        print("stale-timestamp", outcome(api.states(pk, ["x"])))
    except Refused as r:
        print("stale-timestamp", r.status, r.code)


def main():
    api = SDKS[SDK]()
    if ACTION == "create":
        create(api, ARGS[0], ARGS[1], int(ARGS[2]), ARGS[3])
    elif ACTION == "check":
        body = api.check(ARGS[0], ARGS[1:])
        data = body["Data"]
        print("invalid", *data["InvalidDeviceNameList"]["InvalidDeviceName"])
        print("repeated", *data["RepeatedDeviceNameList"]["RepeatDevieNameList"])
        print("details", len(data["InvalidDetailList"]["InvalidDetailList"]))
        st = api.status(ARGS[0], data["ApplyId"])["Data"]
        print("status", st["Status"], "valid", *st["ValidList"]["Name"])
        print("invalid-list", *st["InvalidList"]["Name"])
        print("register", outcome(api.register(ARGS[0], data["ApplyId"])))
    elif ACTION == "states":
        states(api.states(ARGS[0], ARGS[1:]))
    elif ACTION == "states-id":
        states(api.states_by_id(ARGS))
    elif ACTION == "reset":
        print("reset", outcome(api.reset(ARGS[0], ARGS[1])))
    elif ACTION == "delete":
        print("delete", outcome(api.delete(pk=ARGS[0], name=ARGS[1])))
    elif ACTION == "delete-id":
        print("delete", outcome(api.delete(iot_id=ARGS[0])))
    elif ACTION == "refusals":
        refusals(ARGS[0])
    else:
        sys.exit(f"unknown action {ACTION}")


main()
