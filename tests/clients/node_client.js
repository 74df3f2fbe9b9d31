// Alibaba's Node device SDK (alibabacloud-iot-device-sdk 1.2.8) as a client
// of burnline-emulator, for tests/mqtt_sdk_clients.rs:
//   node node_client.js PORT PK DN DS
// Logs in over plain TCP (securemode 3), subscribes to a user topic at
// QoS 1 and publishes on it at QoS 1; prints `connected`, `subscribed` and
// `published` as each is acknowledged, or `error ...`; exits 0 when all three
// were.
const iot = require('alibabacloud-iot-device-sdk');
const [port, productKey, deviceName, deviceSecret] = process.argv.slice(-4);
const device = iot.device({
  productKey, deviceName, deviceSecret,
  brokerUrl: `mqtt://127.0.0.1:${port}`,
  keepalive: 60,
});
const topic = `/${productKey}/${deviceName}/user/get`;
const fail = (why) => { console.log(`error ${why}`); process.exit(1); };
setTimeout(() => fail('timeout'), 15000);
device.on('error', (e) => fail(String(e && e.message || e)));
device.on('connect', () => {
  console.log('connected');
  device.subscribe(topic, { qos: 1 }, (err, granted) => {
    if (err) return fail(`subscribe ${err}`);
    console.log(`subscribed qos=${granted && granted[0] && granted[0].qos}`);
    device.publish(topic, 'hello', { qos: 1 }, (perr) => {
      if (perr) return fail(`publish ${perr}`);
      console.log('published');
      setTimeout(() => { device.end(false, () => process.exit(0)); }, 300);
    });
  });
});
