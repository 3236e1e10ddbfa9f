#!/usr/bin/python3
"""MQTT 5 User Properties through a broker with Eclipse Paho for Python (Debian's python3-paho-mqtt, 1.6.1).

Usage: paho_user_properties.py HOST PORT TOPIC live|retained

A publisher sends one QoS 1 PUBLISH to TOPIC whose only properties are the User Properties a=2, c=3, a=2 (order and
the duplicate matter). A subscriber receives it and prints one line, as mosquitto_sub -F '%t %P [%p]' would, plus
the retain flag:

    TOPIC a:2 c:3 a:2 [hi] retain=0

live: the subscriber subscribes first, then the message is published. retained: the message is published with the
retain flag first, then the subscriber subscribes and gets it from the retained store; the retained message is
cleared afterwards. Exits with 1 and a message on stderr if anything does not happen within 10 seconds.
"""

import os
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

TIMEOUT = 10


def fail(what):
    sys.stderr.write("paho_user_properties.py: " + what + "\n")
    sys.exit(1)


def connected_client(host, port, client_id):
    """A started MQTT 5 client, connected (CONNACK received)."""
    done = threading.Event()
    result = {}

    def on_connect(client, userdata, flags, rc, properties=None):
        result["rc"] = rc
        done.set()

    c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_connect = on_connect
    c.connect(host, port, keepalive=30)
    c.loop_start()
    if not done.wait(TIMEOUT):
        fail(client_id + ": no CONNACK")
    if result["rc"] != 0:
        fail(client_id + ": connection refused: " + str(result["rc"]))
    return c


def publish(host, port, topic, payload, retain, user_properties):
    c = connected_client(host, port, "paho-py-pub-%d" % os.getpid())
    props = Properties(PacketTypes.PUBLISH)
    for kv in user_properties:
        props.UserProperty = kv  # each assignment appends one User Property
    info = c.publish(topic, payload, qos=1, retain=retain, properties=props if user_properties else None)
    info.wait_for_publish(TIMEOUT)
    if not info.is_published():
        fail("publish to " + topic + " not acknowledged")
    c.disconnect()
    c.loop_stop()


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("live", "retained"):
        fail("usage: paho_user_properties.py HOST PORT TOPIC live|retained")
    host, port, topic, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sent = [("a", "2"), ("c", "3"), ("a", "2")]

    if mode == "retained":
        publish(host, port, topic, "hi", True, sent)

    received = []
    got = threading.Event()
    subscribed = threading.Event()

    def on_message(client, userdata, msg):
        received.append(msg)
        got.set()

    def on_subscribe(client, userdata, mid, reason_codes, properties=None):
        subscribed.set()

    sub = connected_client(host, port, "paho-py-sub-%d" % os.getpid())
    sub.on_message = on_message
    sub.on_subscribe = on_subscribe
    sub.subscribe(topic, qos=1)
    if not subscribed.wait(TIMEOUT):
        fail("no SUBACK for " + topic)

    if mode == "live":
        publish(host, port, topic, "hi", False, sent)

    if not got.wait(TIMEOUT):
        fail("no message received on " + topic)
    msg = received[0]
    props = getattr(msg.properties, "UserProperty", []) if msg.properties is not None else []
    line = msg.topic
    for k, v in props:
        line += " %s:%s" % (k, v)
    line += " [%s] retain=%d" % (msg.payload.decode("utf-8"), 1 if msg.retain else 0)
    print(line, flush=True)
    sub.disconnect()
    sub.loop_stop()

    if mode == "retained":
        publish(host, port, topic, b"", True, [])  # clear the retained message


if __name__ == "__main__":
    main()
