"""By-hand outside check of back-pressure (README, "Found by hand from outside, fifth session"): a Paho for Python
subscriber on bp/# that reads about 10,000 QoS 0 messages a second (a third argument EVERY sleeps 2 ms every EVERY
messages, default 20: 4 gives about 2,000 a second) and reports whether it got 0..N-1 in order.
    /usr/bin/python3 slow_subscriber.py 200000 1883 [EVERY] &
    python3 -c "[print(f'{i} ' + 'x' * 200) for i in range(200000)]" | mosquitto_pub -t bp/x -q 0 -l
"""
import sys, time
import paho.mqtt.client as mqtt
n = int(sys.argv[1]); port = int(sys.argv[2]); every = int(sys.argv[3]) if len(sys.argv) > 3 else 20
got = []
def on_message(c, u, m):
    got.append(int(m.payload.split(b' ')[0]))
    if len(got) % every == 0:
        time.sleep(0.002)   # slower than the publisher: its queue fills and the broker must slow the publisher
c = mqtt.Client(client_id="slowsub", clean_session=True)
c.on_message = on_message
c.connect("127.0.0.1", port, 60)
c.subscribe("bp/#", 0)
c.loop_start()
time.sleep(1)
print("READY", flush=True)
deadline = time.time() + 120
last = -1; still = 0
while time.time() < deadline:
    time.sleep(1)
    if len(got) == n: break
    if len(got) == last:
        still += 1
        if still > 10: break
    else:
        still = 0
    last = len(got)
c.loop_stop()
ok = got == list(range(n))
print("received", len(got), "of", n, "in order and complete:", ok)
