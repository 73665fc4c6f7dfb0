#!/usr/bin/env python3
"""An independent OmniSight camera client, written from docs/protocol.md alone.

It exists to test the DOCUMENT: the simulator's agent and the C app were written with the desktop's
code at hand; this one was written from the published page and its vectors only (the sections
"Envelope", "Envelope v3", "Keys" and "Federated learning (fl2)"). Where it needed more than the
page said, the page was fixed (see the commit history of docs/protocol.md).

Debian packages only: python3-paho-mqtt, python3-nacl (Ed25519), python3-cryptography (X25519,
HKDF, HMAC, ChaCha20, ChaCha20-Poly1305).

Usage:
  camera.py identity --serial S --key-seed X        -> prints identity.cgi's JSON
  camera.py selftest --vectors-dir docs             -> checks every primitive against the vectors
  camera.py run --broker 127.0.0.1:PORT --serial S --key-seed X --data-dir D [--samples N --seed Y]

`run` reads JSON commands on stdin, one a line, and writes JSON events on stdout, one a line:
  {"cmd":"send","kind":"detections"|"heartbeat","v":2|3}  one report (v3 needs an acknowledged session)
  {"cmd":"forge","what":"sig"|"mac"|"key"}                 one report the desktop must refuse
  {"cmd":"reannounce"}                                     the session announcement again (same S and e_pk)
  {"cmd":"quit"}
Events: ready, desktop-key, session, session-acked, sent, forged, labelled, fl, fl-q (the round's q),
result; and error / ignored / fl-silent for what it could not handle.
"""

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import queue
import struct
import sys
import threading
import time

import nacl.signing
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 2**255 - 19
D = 14  # θ = 14 float32
MODEL_NAME = 'omnisight.head.confirm.v1'
CLASSES = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other']
ROUND_CHARS = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-')


# ---------------------------------------------------------------- randomness (deterministic by seed)
class Drbg:
    """SHA-256 in counter mode over a seed: the test's cameras must be reproducible. A real camera
    would use the OS's generator (os.urandom); `--seed` absent does exactly that."""

    def __init__(self, seed):
        self.seed = None if seed is None else hashlib.sha256(('omnisight.pycam/' + seed).encode()).digest()
        self.counter = 0
        self.lock = threading.Lock()

    def bytes(self, n):
        if self.seed is None:
            return os.urandom(n)
        out = b''
        with self.lock:
            while len(out) < n:
                out += hashlib.sha256(self.seed + self.counter.to_bytes(8, 'little')).digest()
                self.counter += 1
        return out[:n]

    def uniform(self):
        return int.from_bytes(self.bytes(7), 'little') / 2**56


# ---------------------------------------------------------------- primitives (protocol.md, Cryptography)
def b64(b):
    return base64.b64encode(b).decode()


def unb64(s, n=None):
    if not isinstance(s, str):
        raise ValueError('not a string')
    raw = base64.b64decode(s, validate=True)
    if n is not None and len(raw) != n:
        raise ValueError('expected %d bytes, got %d' % (n, len(raw)))
    return raw


def key_id(public_raw):
    return hashlib.sha256(public_raw).digest()[:8].hex()


def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt.encode(), info=info.encode()).derive(ikm)


def x25519(secret32, public32):
    # cryptography refuses an all-zero shared secret (a low-order public key) with ValueError.
    return X25519PrivateKey.from_private_bytes(secret32).exchange(X25519PublicKey.from_public_bytes(public32))


def x25519_public(secret32):
    return X25519PrivateKey.from_private_bytes(secret32).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def draw_x25519_secret(rng):
    """32 random bytes clamped, read LE, redrawn if >= p (it is also a Shamir secret)."""
    while True:
        k = bytearray(rng.bytes(32))
        k[0] &= 248
        k[31] &= 127
        k[31] |= 64
        if int.from_bytes(k, 'little') < P:
            return bytes(k)


def draw_self_seed(rng):
    while True:
        b = bytearray(rng.bytes(32))
        b[31] &= 0x7F
        if int.from_bytes(b, 'little') < P:
            return bytes(b)


def draw_field(rng):
    while True:
        b = bytearray(rng.bytes(32))
        b[31] &= 0x7F
        v = int.from_bytes(b, 'little')
        if v < P:
            return v


def prg(key32, words=D):
    """ChaCha20-IETF keystream, 12 zero bytes of nonce, counter 0, as LE uint32 words."""
    # cryptography's ChaCha20 takes a 16-byte nonce: 4 bytes LE block counter ‖ 12 bytes IETF nonce.
    enc = Cipher(algorithms.ChaCha20(key32, bytes(16)), mode=None).encryptor()
    stream = enc.update(bytes(4 * words))
    return list(struct.unpack('<%dI' % words, stream))


def shamir_split(secret, tk, xs, rng):
    coeffs = [secret] + [draw_field(rng) for _ in range(tk - 1)]
    out = {}
    for x in xs:
        acc = 0
        for c in reversed(coeffs):
            acc = (acc * x + c) % P
        out[x] = acc
    return out


def lagrange_at_zero(points):
    total = 0
    for i, (xi, yi) in enumerate(points):
        num, den = 1, 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                num = num * (-xj) % P
                den = den * (xi - xj) % P
        total = (total + yi * num * pow(den, P - 2, P)) % P
    return total


def to_le32(v):
    return v.to_bytes(32, 'little')


def quantize(delta, r, s):
    """round(clamp(δ, −r, r)·s) to nearest, ties away from zero (C lround), as int32."""
    v = max(-r, min(r, delta)) * s
    q = math.floor(abs(v) + 0.5)
    return int(q if v >= 0 else -q)


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def ring_and_neighbours(serials, seed, k):
    """Ring order by SHA-256(seed ‖ UTF-8 serial); N(u) = K/2 each side, or everyone if n'−1 <= K."""
    n = len(serials)
    ring = sorted(serials, key=lambda s: hashlib.sha256(seed + s.encode()).digest())
    pos = {s: i for i, s in enumerate(ring)}
    nb = {}
    for s in serials:
        if n - 1 <= k:
            nb[s] = sorted(x for x in serials if x != s)
        else:
            p = pos[s]
            peers = set()
            for d in range(1, k // 2 + 1):
                peers.add(ring[(p + d) % n])
                peers.add(ring[(p - d) % n])
            nb[s] = sorted(peers)
    return ring, nb


def share_threshold(m):
    return -(-2 * (m + 1) // 3)


# ---------------------------------------------------------------- the local model
def features(box, cls, score):
    left, top, right, bottom = box['left'], box['top'], box['right'], box['bottom']
    w, h = right - left, bottom - top
    a = max(-3.0, min(3.0, math.log(w / h))) / 3
    onehot = [1.0 if c == cls else 0.0 for c in CLASSES]
    return [score, (left + right) / 2, (top + bottom) / 2, w, h, a] + onehot


def sigmoid(z):
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def train(theta, samples, epochs, lr, batch, rng):
    """Mini-batch SGD on the mean log-loss; θ kept as float32 after every step."""
    th = [f32(v) for v in theta]
    order = list(range(len(samples)))
    for _ in range(epochs):
        for i in range(len(order) - 1, 0, -1):  # Fisher-Yates: the order is the camera's business
            j = int(rng.uniform() * (i + 1))
            order[i], order[j] = order[j], order[i]
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            grad = [0.0] * D
            for k in idx:
                x, y = samples[k]
                p = sigmoid(sum(th[j] * x[j] for j in range(13)) + th[13])
                e = p - y
                for j in range(13):
                    grad[j] += e * x[j]
                grad[13] += e
            th = [f32(th[j] - lr * grad[j] / len(idx)) for j in range(D)]
    return th


def synthetic_detection(rng):
    cls = CLASSES[int(rng.uniform() * len(CLASSES))]
    # Boxes are normalised to 0..1: keep the whole box inside the frame.
    w, h = 0.03 + 0.15 * rng.uniform(), 0.05 + 0.25 * rng.uniform()
    cx, cy = w / 2 + 0.01 + (0.98 - w) * rng.uniform(), h / 2 + 0.01 + (0.98 - h) * rng.uniform()
    box = {'left': round(cx - w / 2, 4), 'top': round(cy - h / 2, 4),
           'right': round(cx + w / 2, 4), 'bottom': round(cy + h / 2, 4)}
    score = round(0.3 + 0.69 * rng.uniform(), 3)
    return box, cls, score


# ---------------------------------------------------------------- strict validation helpers
class Bad(Exception):
    pass


def fields(obj, required, optional=()):
    if not isinstance(obj, dict):
        raise Bad('not an object')
    extra = set(obj) - set(required) - set(optional)
    if extra:
        raise Bad('unknown fields %s' % sorted(extra))
    missing = set(required) - set(obj)
    if missing:
        raise Bad('missing fields %s' % sorted(missing))
    return obj


def is_int(v, lo=None, hi=None):
    return isinstance(v, int) and not isinstance(v, bool) and (lo is None or v >= lo) and (hi is None or v <= hi)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_round(v):
    return isinstance(v, str) and 1 <= len(v) <= 64 and set(v) <= ROUND_CHARS


def is_serial(v):
    return isinstance(v, str) and len(v) == 12 and all(c in '0123456789ABCDEF' for c in v)


# ---------------------------------------------------------------- the camera
class Camera:
    def __init__(self, args):
        self.args = args
        self.serial = args.serial
        self.sk = nacl.signing.SigningKey(hashlib.sha256(('omnisight.pycam.key/' + args.key_seed).encode()).digest())
        self.pk = bytes(self.sk.verify_key)
        self.kid = key_id(self.pk)
        self.rng = Drbg(args.seed)
        self.lock = threading.RLock()
        self.out_lock = threading.Lock()
        # Boot epoch: kept in the local data, incremented and fsynced before the first signature.
        os.makedirs(args.data_dir, exist_ok=True)
        path = os.path.join(args.data_dir, 'epoch')
        epoch = 0
        if os.path.exists(path):
            with open(path) as f:
                epoch = int(f.read().strip() or 0)
        epoch += 1
        with open(path + '.tmp', 'w') as f:
            f.write(str(epoch))
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + '.tmp', path)
        self.epoch = epoch
        self.seq = 0
        self.started = time.time()
        # Envelope v3 session state.
        self.desktop = None  # (D_pk, id)
        self.session = 0
        self.session_key = None
        self.session_ephemeral = None
        self.session_acked = False
        self.announce_mid = {}  # mid -> session number
        self.last_announce = 0.0
        # Local labelled set: (features, label); pending detections wait for their outcome.
        self.samples = []
        self.pending = {}  # (epoch, seq, index) -> (features, time)
        self.labelled = 0  # samples labelled by the desktop's outcomes
        self.last_frame_ts = 0
        gen = Drbg(None if args.seed is None else args.seed + '/samples')
        for _ in range(args.samples):
            box, cls, score = synthetic_detection(gen)
            x = features(box, cls, score)
            # A hidden rule stands in for the swarm's confirmations: confident people and cars.
            y = 1.0 if (score > 0.6 and cls in ('Human', 'Car')) or score > 0.85 else 0.0
            self.samples.append((x, y))
        self.model = [0.0] * D
        self.model[0], self.model[13] = 4.0, -2.0
        self.model_version = 0
        self.fl = None  # the round held
        self.client = mqtt.Client(client_id='pycam-' + self.serial, clean_session=True, protocol=mqtt.MQTTv311)
        self.client.on_connect = self.on_connect
        self.client.on_message = self.on_message
        self.client.on_publish = self.on_publish
        self.client.on_subscribe = self.on_subscribe

    # ------------------------------------------------------------ output
    def emit(self, event, **kw):
        kw['event'] = event
        with self.out_lock:
            sys.stdout.write(json.dumps(kw) + '\n')
            sys.stdout.flush()

    def identity(self):
        return {'camera': self.serial, 'key': self.kid, 'publicKey': b64(self.pk), 'version': '1.2.0', 'epoch': self.epoch}

    # ------------------------------------------------------------ envelopes
    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def envelope_v2(self, kind, body, forge=None):
        seq = self.next_seq()
        sent = int(time.time() * 1000)
        text = json.dumps(body, separators=(',', ':'))
        key = self.kid
        signing_input = '\n'.join(['omnisight.v2', self.serial, str(self.epoch), str(seq), str(sent), kind, key, text])
        sig = self.sk.sign(signing_input.encode()).signature
        if forge == 'sig':
            # A changed score after signing: what a man in the middle would do.
            tampered = json.loads(text)
            tampered['frame']['observations'][0]['class']['score'] = 0.99
            text = json.dumps(tampered, separators=(',', ':'))
        if forge == 'key':
            key = '0123456789abcdef'
        return {'v': 2, 'camera': self.serial, 'epoch': self.epoch, 'seq': seq, 'sent': sent, 'kind': kind,
                'key': key, 'body': text, 'sig': b64(sig)}, seq

    def envelope_v3(self, kind, body, forge=None):
        with self.lock:
            S, K = self.session, self.session_key
        seq = self.next_seq()
        sent = int(time.time() * 1000)
        text = json.dumps(body, separators=(',', ':'))
        mac_input = '\n'.join(['omnisight.v3', self.serial, str(self.epoch), str(seq), str(sent), kind, self.kid, str(S), text])
        mac = hmac.new(K, mac_input.encode(), hashlib.sha256).digest()
        if forge == 'mac':
            mac = bytes([mac[0] ^ 1]) + mac[1:]
        return {'v': 3, 'camera': self.serial, 'epoch': self.epoch, 'seq': seq, 'sent': sent, 'kind': kind,
                'key': self.kid, 'session': S, 'body': text, 'mac': b64(mac)}, seq

    def topic(self, kind):
        return 'axis/%s/omnisight/%s' % (self.serial, kind)

    def publish(self, kind, env, qos):
        return self.client.publish(self.topic(kind), json.dumps(env, separators=(',', ':')), qos=qos)

    def send_report(self, kind, version=None, forge=None):
        with self.lock:
            acked = self.session_acked
        if version is None:
            version = 3 if acked else 2
        if version == 3 and not acked:
            self.emit('error', message='no acknowledged session for a v3 report')
            return
        body = self.detections_body() if kind == 'detections' else self.heartbeat_body()
        env, seq = (self.envelope_v3 if version == 3 else self.envelope_v2)(kind, body, forge)
        self.publish(kind, env, 0 if kind == 'detections' else 1)
        if kind == 'detections' and forge is None:
            now = time.time()
            for i, o in enumerate(body['frame']['observations']):
                self.pending[(self.epoch, seq, i)] = (features(o['bounding_box'], o['class']['type'], o['class']['score']), now)
        self.emit('forged' if forge else 'sent', kind=kind, v=version, seq=seq, what=forge)

    def detections_body(self):
        # Every frame has its own capture time: (track_id, timestamp) names one observation, and two
        # signed reports that disagree about one (class, or place) quarantine the camera.
        with self.lock:
            now = max(int(time.time() * 1000), self.last_frame_ts + 1)
            self.last_frame_ts = now
        obs = []
        for i in range(2):
            box, cls, score = synthetic_detection(self.rng)
            obs.append({'bounding_box': box, 'class': {'type': cls, 'score': score}, 'track_id': str(i + 1), 'timestamp': now})
        return {'frame': {'timestamp': now, 'observations': obs, 'operations': []},
                'stats': {'inference_ms': 12.5, 'fps_camera': 10, 'fps_processed': 10, 'fps_skipped': 0, 'width': 640, 'height': 360}}

    def heartbeat_body(self):
        body = {'app': 'omnisight', 'version': '1.2.0', 'uptime_s': int(time.time() - self.started), 'fps_camera': 10,
                'fps_processed': 10, 'fps_skipped': 0, 'inference_ms': 12.5, 'mem_bytes': 20 * 1024 * 1024,
                'model': {'name': MODEL_NAME, 'version': self.model_version}}
        held = self.split()[1]
        if held:
            # The loaded head on the held-out samples: mean log-loss (natural log), accuracy at 0.5.
            loss, right = 0.0, 0
            for x, y in held:
                p = min(max(sigmoid(sum(self.model[j] * x[j] for j in range(13)) + self.model[13]), 1e-7), 1 - 1e-7)
                loss -= math.log(p) if y else math.log(1 - p)
                right += (p >= 0.5) == (y == 1.0)
            body['head'] = {'version': self.model_version, 'heldOut': len(held), 'logLoss': round(loss / len(held), 4), 'accuracy': round(right / len(held), 4)}
        return body

    def split(self):
        """(training set, held-out set): 20 % held out, chosen by a hash of the sample's place."""
        train_set, held = [], []
        for i, smp in enumerate(self.samples):
            (held if hashlib.sha256(b'%d' % i).digest()[0] % 5 == 0 else train_set).append(smp)
        return train_set, held

    # ------------------------------------------------------------ MQTT
    def on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            self.emit('error', message='connect refused rc=%d' % rc)
            return
        # "Sessions and reconnects": every new connection ends the session and forgets the desktop key;
        # the retained key this subscription delivers opens the next one.
        self.end_session()
        # QoS 1 subscriptions: the desktop publishes at QoS 1, and a QoS 0 subscription would downgrade it.
        client.subscribe([('omnisight/desktop/session-key', 1), ('omnisight/desktop/fl/#', 1),
                          ('omnisight/desktop/outcomes/' + self.serial, 1),
                          ('omnisight/desktop/session/' + self.serial, 1)])

    def on_subscribe(self, client, userdata, mid, granted_qos):
        # Ready once the broker has the subscriptions (SUBACK): from now on no announce is missed.
        self.emit('ready', **self.identity())

    def on_publish(self, client, userdata, mid):
        with self.lock:
            S = self.announce_mid.pop(mid, None)
            if S is not None and S == self.session and not self.session_acked:
                self.session_acked = True
                acked = True
            else:
                acked = False
        if acked:
            self.emit('session-acked', session=S)

    def on_message(self, client, userdata, msg):
        if msg.topic == 'omnisight/desktop/session-key' and len(msg.payload) == 0:
            self.end_session()  # the key cleared: the desktop left; v2 until one publishes a key
            self.emit('desktop-key', id=None)
            return
        try:
            data = json.loads(msg.payload.decode('utf-8'))
        except Exception:
            return  # cameras validate server messages strictly and ignore what fails
        try:
            if msg.topic == 'omnisight/desktop/session-key':
                self.on_desktop_key(data)
            elif msg.topic == 'omnisight/desktop/session/' + self.serial:
                self.on_session_notice(data)
            elif msg.topic == 'omnisight/desktop/outcomes/' + self.serial:
                self.on_outcomes(data)
            elif msg.topic.startswith('omnisight/desktop/fl/'):
                self.on_fl(msg.topic[len('omnisight/desktop/fl/'):], data)
        except Bad as e:
            self.emit('ignored', topic=msg.topic, reason=str(e))
        except Exception as e:  # a bug here must be seen, not swallowed
            self.emit('error', topic=msg.topic, message='%s: %s' % (type(e).__name__, e))

    # ------------------------------------------------------------ envelope v3 session
    def on_desktop_key(self, data):
        fields(data, ['v', 'key', 'id'])
        if data['v'] != 1:
            raise Bad('desktop key v')
        try:
            dpk = unb64(data['key'], 32)
        except Exception:
            raise Bad('desktop key not 32 bytes')
        if data['id'] != key_id(dpk):
            raise Bad('desktop key id does not match its key')
        self.emit('desktop-key', id=data['id'])
        self.open_session(dpk, data['id'])

    def end_session(self):
        with self.lock:
            self.desktop = None
            self.session_key = None
            self.session_ephemeral = None
            self.session_acked = False

    def on_session_notice(self, data):
        # The desktop refused a report as "unknown session": act only on a notice naming the session in use.
        fields(data, ['v', 'key', 'epoch', 'session', 'desktopKey'])
        if data['v'] != 1 or not is_int(data['epoch']) or not is_int(data['session']) or not isinstance(data['desktopKey'], str):
            raise Bad('session notice')
        with self.lock:
            current = data['key'] == self.kid and data['epoch'] == self.epoch and data['session'] == self.session
            desktop = self.desktop
        if not current:
            return
        self.emit('session-notice', session=data['session'])
        if desktop is not None and desktop[1] == data['desktopKey']:
            self.open_session(desktop[0], desktop[1])
        else:
            self.end_session()  # the key held is not that desktop's: v2 until its key arrives

    def open_session(self, dpk, did):
        e_sk = X25519PrivateKey.generate() if self.args.seed is None else X25519PrivateKey.from_private_bytes(self.rng.bytes(32))
        e_pk = e_sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        with self.lock:
            self.session += 1
            S = self.session
            salt = '%s\n%d\n%d' % (self.serial, self.epoch, S)
            self.session_key = hkdf(e_sk.exchange(X25519PublicKey.from_public_bytes(dpk)), salt, 'omnisight.v3.session')
            del e_sk  # erase e_sk: only K is kept
            self.session_ephemeral = e_pk
            self.desktop = (dpk, did)
            self.session_acked = False  # v2 until the broker acknowledges this session's announcement
            self.last_announce = time.time()  # the main loop's 30 s repeat counts from now
        self.emit('session', session=S)
        self.announce_session()

    def announce_session(self):
        with self.lock:
            if self.desktop is None:
                return
            S, e_pk, did = self.session, self.session_ephemeral, self.desktop[1]
            self.last_announce = time.time()
        env, _ = self.envelope_v2('session', {'session': S, 'desktopKey': did, 'ephemeral': b64(e_pk)})
        info = self.publish('session', env, 1)
        with self.lock:
            self.announce_mid[info.mid] = S
            # The PUBACK may already have been handled before we recorded the mid.
            if info.is_published() and S == self.session and not self.session_acked:
                self.announce_mid.pop(info.mid, None)
                self.session_acked = True
                self.emit('session-acked', session=S)

    # ------------------------------------------------------------ outcomes: labels for the local set
    def on_outcomes(self, data):
        fields(data, ['v', 'epoch', 'items'])
        if data['v'] != 1 or not is_int(data['epoch']) or not isinstance(data['items'], list) or len(data['items']) > 500:
            raise Bad('outcomes shape')
        for it in data['items']:
            fields(it, ['seq', 'index', 'confirmed'])
            key = (data['epoch'], it['seq'], it['index'])
            got = self.pending.pop(key, None)
            if got is not None and isinstance(it['confirmed'], bool):
                self.samples.append((got[0], 1.0 if it['confirmed'] else 0.0))
                self.labelled += 1
        cutoff = time.time() - 30  # no outcome within 30 s: dropped
        for k in [k for k, v in self.pending.items() if v[1] < cutoff]:
            del self.pending[k]
        del self.samples[:-5000]
        self.emit('labelled', labelled=self.labelled, items=len(data['items']))

    # ------------------------------------------------------------ fl2
    def fl_send(self, body):
        env, _ = self.envelope_v2('fl', body)
        self.publish('fl', env, 1)
        counts = {k: len(v) for k, v in body.items() if isinstance(v, list)}  # boxes, selfShares, keyShares
        self.emit('fl', phase=body['phase'], round=body['round'], **counts)

    def on_fl(self, rest, data):
        if rest == 'announce':
            return self.fl_announce(data)
        parts = rest.split('/')
        rnd = parts[0]
        with self.lock:
            st = self.fl
        if st is None or st['round'] != rnd:
            return
        if time.time() > st['expires'] and parts[1] != 'result':
            with self.lock:
                self.fl = None
            return
        if parts[1:] == ['roster']:
            self.fl_roster(st, data)
        elif parts[1:] == ['deliver', self.serial]:
            self.fl_deliver(st, data)
        elif parts[1:] == ['go']:
            self.fl_go(st, data)
        elif parts[1:] == ['unmask']:
            self.fl_unmask(st, data)
        elif parts[1:] == ['result']:
            self.fl_result(st, data)

    def fl_announce(self, a):
        fields(a, ['v', 'round', 'model', 'train', 'quantizer', 'selected', 'threshold', 'deadlines', 'minSamples', 'graph', 'setupTtl'])
        if a['v'] != 2:
            raise Bad('announce v')
        if not is_round(a['round']):
            raise Bad('round')
        fields(a['model'], ['name', 'version', 'params'])
        fields(a['train'], ['epochs', 'lr', 'batchSize'])
        fields(a['quantizer'], ['range', 'scale'])
        fields(a['deadlines'], ['advertise', 'shares', 'masked', 'unmask'])
        fields(a['graph'], ['k'])
        sel = a['selected']
        if not isinstance(sel, list) or not sel or not all(is_serial(s) for s in sel) or len(set(sel)) != len(sel):
            raise Bad('selected')
        n = len(sel)
        params = unb64(a['model']['params'], 4 * D)
        theta = list(struct.unpack('<14f', params))
        r, s = a['quantizer']['range'], a['quantizer']['scale']
        if not is_num(r) or r <= 0 or not is_int(s, 1) or s != math.floor((2**31 - 1) / (r * n)):
            raise Bad('quantizer: scale must be ⌊(2^31−1)/(r·n)⌋')
        if a['threshold'] != -(-2 * n // 3):
            raise Bad('threshold must be ⌈2n/3⌉')
        k = a['graph']['k']
        if not is_int(k, 2, 254) or k % 2:
            raise Bad('graph.k')
        if not is_int(a['setupTtl'], 1000, 3600000):
            raise Bad('setupTtl')
        tr = a['train']
        if not is_int(tr['epochs'], 1) or not is_num(tr['lr']) or not is_int(tr['batchSize'], 1) or not is_int(a['minSamples'], 0):
            raise Bad('train')
        if a['model']['name'] != MODEL_NAME or not is_int(a['model']['version'], 0):
            raise Bad('model')
        with self.lock:
            self.fl = None  # a new announce supersedes any round held
        if self.serial not in sel:
            return
        rnd = a['round']
        n_train = len(self.split()[0])  # the held-out fifth does not count
        if n_train < a['minSamples']:
            self.fl_send({'round': rnd, 'phase': 'decline', 'reason': 'only %d labelled training samples' % n_train})
            return
        c, s_ = draw_x25519_secret(self.rng), draw_x25519_secret(self.rng)
        st = {'round': rnd, 'announce': a, 'theta': theta, 'c': c, 's': s_, 'cPk': x25519_public(c), 'sPk': x25519_public(s_),
              'stage': 'advertised', 'expires': time.time() + a['setupTtl'] / 1000}
        with self.lock:
            self.fl = st
        self.fl_send({'round': rnd, 'phase': 'advertise', 'cPk': b64(st['cPk']), 'sPk': b64(st['sPk'])})

    def fl_drop(self, st, why):
        with self.lock:
            if self.fl is st:
                self.fl = None
        self.emit('fl-silent', round=st['round'], reason=why)

    def fl_roster(self, st, ro):
        if st['stage'] != 'advertised':
            return
        a = st['announce']
        try:
            fields(ro, ['round', 'threshold', 'shareThreshold', 'graph', 'peers'])
            fields(ro['graph'], ['k', 'seed'])
            seed = unb64(ro['graph']['seed'], 32)
            peers = ro['peers']
            if not isinstance(peers, list):
                raise Bad('peers')
            serials = []
            for p in peers:
                fields(p, ['serial', 'index', 'cPk', 'sPk'])
                if not is_serial(p['serial']) or p['serial'] not in a['selected']:
                    raise Bad('peer serial')
                unb64(p['cPk'], 32), unb64(p['sPk'], 32)
                serials.append(p['serial'])
            if serials != sorted(serials) or len(set(serials)) != len(serials):
                raise Bad('peers not sorted by serial')
            if [p['index'] for p in peers] != list(range(1, len(peers) + 1)):
                raise Bad('index must be 1..n\' in serial order')
            me = next((p for p in peers if p['serial'] == self.serial), None)
            if me is None or me['cPk'] != b64(st['cPk']) or me['sPk'] != b64(st['sPk']):
                raise Bad('not in the roster with my keys')
            if ro['threshold'] != a['threshold'] or len(peers) < a['threshold'] or ro['graph']['k'] != a['graph']['k']:
                raise Bad('threshold / peers / k')
            ring, nb = ring_and_neighbours(serials, seed, a['graph']['k'])
            mine = nb[self.serial]
            tk = share_threshold(len(mine))
            if ro['shareThreshold'] != tk or not (2 * tk > len(mine) + 1) or not (tk <= len(mine) + 1):
                raise Bad('shareThreshold')
        except Bad as e:
            return self.fl_drop(st, 'roster: %s' % e)
        by = {p['serial']: p for p in peers}
        st.update(peers=by, x=me['index'], N=mine, tk=tk, stage='shares')
        b = draw_self_seed(self.rng)
        st['b'] = b
        xs = [by[v]['index'] for v in mine] + [me['index']]
        sh_b = shamir_split(int.from_bytes(b, 'little'), tk, xs, self.rng)
        sh_s = shamir_split(int.from_bytes(st['s'], 'little'), tk, xs, self.rng)
        st['own_b_share'] = sh_b[me['index']]
        boxes = []
        for v in mine:
            xv = by[v]['index']
            key = hkdf(x25519(st['c'], unb64(by[v]['cPk'], 32)), st['round'], 'omnisight.fl1.box')
            plain = struct.pack('<II', me['index'], xv) + to_le32(sh_b[xv]) + to_le32(sh_s[xv])
            nonce = self.rng.bytes(12)
            aad = '%s\n%s\n%s' % (st['round'], self.serial, v)
            boxes.append({'to': v, 'box': b64(nonce + ChaCha20Poly1305(key).encrypt(nonce, plain, aad.encode()))})
        self.fl_send({'round': st['round'], 'phase': 'shares', 'boxes': boxes})

    def fl_deliver(self, st, dv):
        if st['stage'] != 'shares':
            return
        try:
            fields(dv, ['round', 'boxes'])
            if not isinstance(dv['boxes'], list):
                raise Bad('boxes')
            held = {}  # serial -> (share of b, share of s)
            for item in dv['boxes']:
                fields(item, ['from', 'box'])
                frm = item['from']
                if frm not in st['N'] or frm in held:
                    raise Bad('box from %s, not a neighbour' % frm)
                raw = unb64(item['box'], 100)
                key = hkdf(x25519(st['c'], unb64(st['peers'][frm]['cPk'], 32)), st['round'], 'omnisight.fl1.box')
                aad = '%s\n%s\n%s' % (st['round'], frm, self.serial)
                try:
                    plain = ChaCha20Poly1305(key).decrypt(raw[:12], raw[12:], aad.encode())
                except Exception:
                    raise Bad('box from %s does not open' % frm)
                fi, ti = struct.unpack('<II', plain[:8])
                if fi != st['peers'][frm]['index'] or ti != st['x']:
                    raise Bad('box indices')
                held[frm] = (int.from_bytes(plain[8:40], 'little'), int.from_bytes(plain[40:72], 'little'))
            if len(held) + 1 < st['tk']:
                raise Bad('too few boxes for tk')
        except (Bad, ValueError) as e:
            return self.fl_drop(st, 'deliver: %s' % e)
        # Everything but q is known now: make the whole mask during the setup.
        mask = prg(st['b'])
        for v in held:
            kuv = hkdf(x25519(st['s'], unb64(st['peers'][v]['sPk'], 32)), st['round'], 'omnisight.fl1.mask')
            words = prg(kuv)
            sign = 1 if st['peers'][v]['index'] > st['x'] else -1
            mask = [(m + sign * w) % 2**32 for m, w in zip(mask, words)]
        st.update(held=held, mask=mask, stage='setup')
        self.emit('fl', phase='set-up', round=st['round'], D=sorted(held))

    def fl_go(self, st, g):
        if st['stage'] != 'setup':
            return
        try:
            fields(g, ['round'])
        except Bad as e:
            return self.fl_drop(st, 'go: %s' % e)
        a = st['announce']
        data = self.split()[0]
        local = train(st['theta'], data, a['train']['epochs'], a['train']['lr'], a['train']['batchSize'], self.rng)
        r, s = a['quantizer']['range'], a['quantizer']['scale']
        q = [quantize(f32(local[i]) - f32(st['theta'][i]), r, s) for i in range(D)]
        y = [(qi + m) % 2**32 for qi, m in zip(q, st['mask'])]
        st.update(stage='masked', q=q)
        self.fl_send({'round': st['round'], 'phase': 'masked', 'y': b64(struct.pack('<14I', *y))})
        self.emit('fl-q', round=st['round'], q=q)

    def fl_unmask(self, st, um):
        if st['stage'] != 'masked':
            return
        try:
            fields(um, ['round', 'survivors', 'dropped'])
            sv, dr = um['survivors'], um['dropped']
            if not isinstance(sv, list) or not isinstance(dr, list):
                raise Bad('lists')
            names = sv + dr
            if self.serial not in sv or len(sv) < st['announce']['threshold'] or len(set(names)) != len(names):
                raise Bad('survivors')
            if not all(n in st['peers'] for n in names) or not all(v in names for v in st['held']):
                raise Bad('names')
        except Bad as e:
            return self.fl_drop(st, 'unmask: %s' % e)
        self_shares = [{'of': self.serial, 'y': b64(to_le32(st['own_b_share']))}]
        key_shares = []
        for v, (bs, ss) in sorted(st['held'].items()):
            if v in sv:
                self_shares.append({'of': v, 'y': b64(to_le32(bs))})
            else:
                key_shares.append({'of': v, 'y': b64(to_le32(ss))})
        st['stage'] = 'unmasked'
        self.fl_send({'round': st['round'], 'phase': 'unmask', 'selfShares': self_shares, 'keyShares': key_shares})

    def fl_result(self, st, res):
        with self.lock:
            if self.fl is st:
                self.fl = None
        if not isinstance(res, dict) or res.get('ok') is not True:
            self.emit('result', round=st['round'], ok=False, reason=res.get('reason') if isinstance(res, dict) else None)
            return
        try:
            fields(res, ['round', 'ok', 'model', 'survivors'])
            fields(res['model'], ['name', 'version', 'params'])
            theta = list(struct.unpack('<14f', unb64(res['model']['params'], 4 * D)))
        except (Bad, ValueError) as e:
            return self.emit('ignored', topic='result', reason=str(e))
        self.model, self.model_version = theta, res['model']['version']
        self.emit('result', round=st['round'], ok=True, version=res['model']['version'], survivors=res['survivors'], params=theta)

    # ------------------------------------------------------------ main loop
    def run(self):
        host, port = self.args.broker.rsplit(':', 1)
        self.client.connect(host, int(port), keepalive=30)
        self.client.loop_start()
        cmds = queue.Queue()

        def read_stdin():
            for line in sys.stdin:
                line = line.strip()
                if line:
                    cmds.put(line)
            cmds.put('{"cmd":"quit"}')

        threading.Thread(target=read_stdin, daemon=True).start()
        next_hb = time.time() + 1
        while True:
            try:
                line = cmds.get(timeout=0.1)
            except queue.Empty:
                line = None
            now = time.time()
            if self.args.heartbeats and now >= next_hb and self.client.is_connected():
                next_hb = now + 1
                self.send_report('heartbeat')
            if self.desktop is not None and now - self.last_announce >= 30:
                self.announce_session()  # the same announcement (same S and e_pk), new seq
            if line is None:
                continue
            try:
                cmd = json.loads(line)
            except ValueError:
                self.emit('error', message='bad command')
                continue
            c = cmd.get('cmd')
            if c == 'quit':
                break
            if c == 'send':
                self.send_report(cmd.get('kind', 'detections'), cmd.get('v'))
            elif c == 'reannounce':
                self.announce_session()  # what the 30 s repeat sends, on demand
            elif c == 'forge':
                what = cmd.get('what')
                self.send_report('detections', 3 if what == 'mac' else 2, forge=what)
            else:
                self.emit('error', message='unknown command')
        self.client.disconnect()
        self.client.loop_stop()


# ---------------------------------------------------------------- self test against the documented vectors
def selftest(vdir):
    fl = json.load(open(os.path.join(vdir, 'fl1-vectors.json')))
    v3 = json.load(open(os.path.join(vdir, 'v3-vectors.json')))
    h = bytes.fromhex
    assert int(fl['fieldPrime']) == P
    c1, c2, c3 = fl['cameras']
    for c in fl['cameras']:
        assert x25519_public(h(c['cSecret'])).hex() == c['cPk'] and x25519_public(h(c['sSecret'])).hex() == c['sPk']
    assert x25519(h(c1['cSecret']), h(c2['cPk'])).hex() == fl['x25519']['cShared']
    assert x25519(h(c1['sSecret']), h(c2['sPk'])).hex() == fl['x25519']['sShared']
    rnd = fl['round']
    assert hkdf(h(fl['x25519']['cShared']), rnd, 'omnisight.fl1.box').hex() == fl['hkdf']['boxKey']
    assert hkdf(h(fl['x25519']['sShared']), rnd, 'omnisight.fl1.mask').hex() == fl['hkdf']['maskKey']
    bx = fl['box']
    assert bx['aad'] == '%s\n%s\n%s' % (rnd, bx['from'], bx['to'])
    ct = ChaCha20Poly1305(h(bx['key'])).encrypt(h(bx['nonce']), h(bx['plaintext']), bx['aad'].encode())
    assert (h(bx['nonce']) + ct).hex() == bx['box'] and len(h(bx['box'])) == 100
    for name in ('maskKey', 'selfMask'):
        assert prg(h(fl['prg'][name]['key'])) == fl['prg'][name]['words']
    assert prg(h(fl['prg']['fortyWords']['key']), 40) == fl['prg']['fortyWords']['words']
    for which in ('b', 's'):
        sh = fl['shamir'][which]
        coeffs = [int.from_bytes(h(c), 'little') for c in sh['coefficients']]
        for share in sh['shares']:
            assert to_le32(sum(c * share['x'] ** i for i, c in enumerate(coeffs)) % P).hex() == share['y']
        pts = [(s_['x'], int.from_bytes(h(s_['y']), 'little')) for s_ in sh['shares'][:2]]
        assert to_le32(lagrange_at_zero(pts)).hex() == sh['secret']
    m = fl['masked']
    r, s = m['quantizer']['range'], m['quantizer']['scale']
    q = [quantize(f32(a) - f32(b), r, s) for a, b in zip(m['thetaLocalF32'], m['thetaGlobal'])]
    assert q == m['q'], (q, m['q'])
    # camera 1 (index 1) with cameras 2 and 3: both have higher indices, so both masks are added.
    mask = prg(h(c1['b']))
    for c in (c2, c3):
        words = prg(hkdf(x25519(h(c1['sSecret']), h(c['sPk'])), rnd, 'omnisight.fl1.mask'))
        mask = [(a + b) % 2**32 for a, b in zip(mask, words)]
    y = [(a + b) % 2**32 for a, b in zip(q, mask)]
    assert b64(struct.pack('<14I', *y)) == m['yB64']
    for name in ('sparse', 'sparseK6'):
        g = fl['fl2'][name]
        ring, nb = ring_and_neighbours(g['serials'], h(fl['fl2']['seed']), g['k'])
        assert ring == g['ringOrder'] and nb == g['neighbours'], name
        st = g['shareThreshold']
        assert st == share_threshold(min(g['k'], len(g['serials']) - 1)), (name, st)
    dk = v3['desktop']
    dpk = x25519_public(h(dk['secret']))
    assert b64(dpk) == dk['publicB64'] and key_id(dpk) == dk['id']
    for ses in v3['sessions']:
        epk = x25519_public(h(ses['ephemeralSecret']))
        assert b64(epk) == ses['ephemeralPublicB64']
        shared = x25519(h(ses['ephemeralSecret']), dpk)
        assert shared.hex() == ses['shared']
        salt = '%s\n%d\n%d' % (ses['serial'], ses['epoch'], ses['session'])
        assert salt == ses['salt']
        K = hkdf(shared, salt, 'omnisight.v3.session')
        assert K.hex() == ses['K']
        mc = ses['mac']
        inp = '\n'.join(['omnisight.v3', mc['camera'], str(mc['epoch']), str(mc['seq']), str(mc['sent']), mc['kind'], mc['key'], str(mc['session']), mc['body']])
        assert inp == mc['input']
        assert b64(hmac.new(K, inp.encode(), hashlib.sha256).digest()) == mc['macB64']
    print(json.dumps({'event': 'selftest', 'ok': True}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['identity', 'selftest', 'run'])
    ap.add_argument('--serial', default='ACCC8E0000F1')
    ap.add_argument('--key-seed', default='pycam')
    ap.add_argument('--seed', default=None, help='deterministic randomness (tests); absent: the OS generator')
    ap.add_argument('--data-dir', default=None)
    ap.add_argument('--broker', default='127.0.0.1:1883')
    ap.add_argument('--samples', type=int, default=0, help='synthetic labelled samples in the local set')
    ap.add_argument('--heartbeats', action='store_true', help='one heartbeat a second')
    ap.add_argument('--vectors-dir', default='docs')
    args = ap.parse_args()
    if args.command == 'selftest':
        return selftest(args.vectors_dir)
    if not is_serial(args.serial):
        sys.exit('serial must be 12 upper-case hex')
    if args.command == 'identity':
        sk = nacl.signing.SigningKey(hashlib.sha256(('omnisight.pycam.key/' + args.key_seed).encode()).digest())
        pk = bytes(sk.verify_key)
        print(json.dumps({'camera': args.serial, 'key': key_id(pk), 'publicKey': b64(pk), 'version': '1.2.0'}))
        return
    if args.data_dir is None:
        sys.exit('--data-dir is required for run')
    Camera(args).run()


if __name__ == '__main__':
    main()
