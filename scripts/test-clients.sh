#!/usr/bin/env bash
# Installs the real MQTT clients the tests run against the emulator, once,
# into target/test-clients (kept between runs):
#   - Python: aliyun-iot-linkkit 1.2.13 with paho-mqtt 1.6.1 (the SDK breaks
#     with paho 2) in a virtual environment, venv/, with Alibaba's OpenAPI
#     SDKs: alibabacloud-iot20180120 5.1.0 (Tea, signature V3) and
#     aliyun-python-sdk-iot 8.59.0 with aliyun-python-sdk-core 2.16.1 (V1);
#   - Node: alibabacloud-iot-device-sdk 1.2.8 in node/node_modules;
#   - mosquitto_pub must be on PATH (Debian package mosquitto-clients, which
#     scripts/test.sh and .ci/run install).
# Prints `python=PATH`, `node_modules=PATH` and `mosquitto_pub=PATH` lines.
# Concurrent callers wait on a lock; a finished install is marked by a stamp
# file, so a broken half-install is redone.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/target/test-clients"
mkdir -p "$root"
exec 9>"$root/.lock"
flock 9

py="$root/venv/bin/python"
if [ ! -f "$root/venv/.done-2" ]; then
  rm -rf "$root/venv"
  python3 -m venv "$root/venv" >&2
  "$root/venv/bin/pip" install --quiet --disable-pip-version-check \
    'aliyun-iot-linkkit==1.2.13' 'paho-mqtt==1.6.1' \
    'alibabacloud-iot20180120==5.1.0' 'alibabacloud-tea-openapi==0.4.6' \
    'darabonba-core==1.0.9' 'alibabacloud-credentials==1.0.12' \
    'aliyun-python-sdk-iot==8.59.0' 'aliyun-python-sdk-core==2.16.1' >&2
  touch "$root/venv/.done-2"
fi

if [ ! -f "$root/node/.done-1" ]; then
  rm -rf "$root/node"
  mkdir -p "$root/node"
  (cd "$root/node" && npm init -y >/dev/null && \
    npm install --silent --no-audit --no-fund 'alibabacloud-iot-device-sdk@1.2.8' >&2)
  touch "$root/node/.done-1"
fi

mosq="$(command -v mosquitto_pub || true)"
if [ -z "$mosq" ]; then
  echo "test-clients.sh: mosquitto_pub is missing: install the Debian package mosquitto-clients" >&2
  exit 1
fi
echo "python=$py"
echo "node_modules=$root/node/node_modules"
echo "mosquitto_pub=$mosq"
