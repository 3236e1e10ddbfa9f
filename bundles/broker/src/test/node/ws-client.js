// MQTT.js (npm package "mqtt") as an outside MQTT-over-WebSocket client for WebSocketListenerTest.
// Usage: node ws-client.js URL MODE ARGS...   (environment: CLIENT_ID, MQTT_VERSION = 4 | 5, default 5)
//   roundtrip PREFIX           subscribes PREFIX/# with QoS 2, publishes QoS 0, 1 and 2 to PREFIX/q0..q2 (MQTT 5:
//                              with the user property source=mqtt.js), prints what it receives, exits after three
//   sub FILTER COUNT           subscribes FILTER with QoS 2, prints SUBSCRIBED, then COUNT messages, then exits
//   pub TOPIC MESSAGE QOS      publishes one message (MQTT 5: user property source=mqtt.js), then exits
// Every received message is printed as one JSON line: {"topic","payload","qos","userProperties"}.
// Exit code 0 on success, 1 on an error, 2 on the 20 s timeout.
'use strict';
const mqtt = require('mqtt');

const [url, mode, ...args] = process.argv.slice(2);
const version = Number(process.env.MQTT_VERSION || 5);
const userProperties = { source: 'mqtt.js' };

const timer = setTimeout(() => {
  console.log('TIMEOUT');
  process.exit(2);
}, 20000);

const client = mqtt.connect(url, {
  clientId: process.env.CLIENT_ID || 'mqttjs-' + process.pid,
  protocolVersion: version,
  clean: true,
  reconnectPeriod: 0,
  connectTimeout: 10000,
  username: process.env.MQTT_USER,
  password: process.env.MQTT_PASSWORD,
});

// once the expected messages are in, the client ends: a write that fails while it ends (the acknowledgement of the
// last QoS 2 message racing the close, EPIPE) does not change the outcome
let ending = false;

function done(code) {
  ending = true;
  clearTimeout(timer);
  client.end(false, {}, () => process.exit(code));
}

client.on('error', (err) => {
  if (ending) {
    console.log('IGNORED while ending: ' + err.message);
    return;
  }
  console.log('ERROR ' + err.message);
  clearTimeout(timer);
  process.exit(1);
});

let expected = 0;
let received = 0;
client.on('message', (topic, payload, packet) => {
  const props = packet.properties && packet.properties.userProperties;
  console.log(JSON.stringify({ topic, payload: payload.toString('utf8'), qos: packet.qos,
    userProperties: props || {} }));
  if (++received === expected) {
    done(0);
  }
});

function publishOptions(qos) {
  return version === 5 ? { qos, properties: { userProperties } } : { qos };
}

client.on('connect', () => {
  console.log('CONNECTED');
  if (mode === 'roundtrip') {
    const prefix = args[0];
    expected = 3;
    client.subscribe(prefix + '/#', { qos: 2 }, (err) => {
      if (err) {
        console.log('ERROR ' + err.message);
        process.exit(1);
      }
      for (const qos of [0, 1, 2]) {
        client.publish(prefix + '/q' + qos, 'hello ' + qos, publishOptions(qos));
      }
    });
  } else if (mode === 'sub') {
    expected = Number(args[1]);
    client.subscribe(args[0], { qos: 2 }, (err) => {
      if (err) {
        console.log('ERROR ' + err.message);
        process.exit(1);
      }
      console.log('SUBSCRIBED');
    });
  } else if (mode === 'pub') {
    client.publish(args[0], args[1], publishOptions(Number(args[2])), (err) => {
      if (err) {
        console.log('ERROR ' + err.message);
        process.exit(1);
      }
      console.log('PUBLISHED');
      done(0);
    });
  } else {
    console.log('ERROR unknown mode ' + mode);
    process.exit(1);
  }
});
