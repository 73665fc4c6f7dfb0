#!/usr/bin/env python3
"""An independent VAPIX conformance check, written from the interface facts alone
(/work/shared/reference/axis-camera-interfaces.md, repeated where each check is made) with
Python's standard library only: http.client for the wire, its own HTTP Digest (RFC 7616, MD5,
qop=auth), tarfile/gzip for the packages it uploads. It shares no code with the project.

Usage: vapix_check.py CONFIG.json
CONFIG: {"current": CAMERA, "lts": CAMERA, "old": CAMERA}, each CAMERA
  {"url": "http://127.0.0.1:PORT", "mac": "AC:CC:8E:..", "serial": "..", "firmware": "12.0.91",
   "users": {"administrator": [user, pass], "operator": [..], "viewer": [..]}}
"current" is AXIS OS 12 (AllowUnsigned false at start), "lts" a 9.80 or 10.12 camera, "old" one
before AXIS OS 11.2. The check changes the current camera (installs and removes apps).

Prints one JSON object per check ({"check", "ok", "detail"}), then a summary line
({"summary": {"passed", "failed", "known"}}); exits 1 when a check failed. "known" lists
divergences the project knows of and keeps on purpose (they are not failures; see README.md).
"""
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import time
import urllib.parse
import http.client

RESULTS = []


def record(name, ok, detail=''):
    RESULTS.append({'check': name, 'ok': bool(ok), 'detail': str(detail)[:400]})


def check(name, cond, detail=''):
    record(name, cond, '' if cond else detail)
    return cond


# ---- HTTP and Digest ---------------------------------------------------------------------------

class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body

    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.body.decode('utf-8'))


def parse_challenge(value):
    """`Digest realm="…", nonce="…", …` -> (scheme, {param: value})."""
    scheme, _, rest = value.strip().partition(' ')
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))', rest):
        params[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
    return scheme, params


def md5hex(s):
    return hashlib.md5(s.encode('utf-8')).hexdigest()


class Camera:
    """One camera as a client sees it: a host, a port and a Digest session per user."""

    def __init__(self, conf):
        u = urllib.parse.urlsplit(conf['url'])
        self.host, self.port = u.hostname, u.port
        assert self.host == '127.0.0.1', 'loopback only'
        self.conf = conf
        self.sessions = {}

    def raw(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def authorization(self, user, password, method, path, challenge, nc, cnonce=None):
        realm, nonce = challenge['realm'], challenge['nonce']
        cnonce = cnonce or os.urandom(8).hex()
        ha1 = md5hex(f'{user}:{realm}:{password}')
        ha2 = md5hex(f'{method}:{path}')
        ncs = f'{nc:08x}'
        response = md5hex(f'{ha1}:{nonce}:{ncs}:{cnonce}:auth:{ha2}')
        return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{path}", '
                f'algorithm=MD5, qop=auth, nc={ncs}, cnonce="{cnonce}", response="{response}"')

    def request(self, method, path, role=None, body=None, headers=None, creds=None, timeout=10):
        """With credentials: reuse the last nonce (nc counting up), answer a 401 once with a fresh one."""
        headers = dict(headers or {})
        if role is None and creds is None:
            return self.raw(method, path, body, headers, timeout)
        user, password = creds or self.conf['users'][role]
        s = self.sessions.get(user)
        for _ in range(2):
            if s is None:
                r = self.raw(method, path, body, headers, timeout)
                if r.status != 401:
                    return r
                scheme, ch = parse_challenge(r.headers.get('www-authenticate', ''))
                s = {'challenge': ch, 'nc': 0}
            s['nc'] += 1
            h = dict(headers)
            h['Authorization'] = self.authorization(user, password, method, path, s['challenge'], s['nc'])
            r = self.raw(method, path, body, h, timeout)
            if r.status == 401:
                _, ch = parse_challenge(r.headers.get('www-authenticate', ''))
                s = {'challenge': ch, 'nc': 0} if ch.get('stale') == 'true' else None
                if s is None:
                    self.sessions.pop(user, None)
                    return r
                continue
            self.sessions[user] = s
            return r
        return r

    def jsonapi(self, path, payload, role=None):
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        if isinstance(body, str):
            body = body.encode('utf-8')
        return self.request('POST', path, role, body, {'Content-Type': 'application/json'})


# ---- packages ----------------------------------------------------------------------------------

def eap(files, exe):
    """A gzip-compressed tar, entries at the root, owner 0, sorted names, fixed mtime."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.GNU_FORMAT) as t:
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name == exe else 0o644
            info.mtime = 1700000000
            info.uid = info.gid = 0
            info.uname = info.gname = 'root'
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def app_package(app='vapixcheck', version='1.0.0', setup_extra=None, drop=(), top_extra=None, configuration=None):
    setup = {'appName': app, 'friendlyName': 'VAPIX check', 'vendor': 'Conformance', 'version': version,
             'runMode': 'never', 'architecture': 'aarch64', 'vendorUrl': 'https://conformance.invalid'}
    setup.update(setup_extra or {})
    for k in drop:
        setup.pop(k, None)
    manifest = {'schemaVersion': '1.7.0', 'acapPackageConf': {'setup': setup}}
    if configuration is not None:
        manifest['acapPackageConf']['configuration'] = configuration
    manifest.update(top_extra or {})
    for k in drop:
        manifest.pop(k, None)
    major, minor, micro = version.split('.')
    conf = (f'PACKAGENAME="VAPIX check"\nAPPTYPE="aarch64"\nAPPNAME="{app}"\nAPPID=""\nLICENSEPAGE="none"\n'
            f'VENDOR="Conformance"\nAPPMAJORVERSION="{major}"\nAPPMINORVERSION="{minor}"\nAPPMICROVERSION="{micro}"\n'
            'APPGRP="sdk"\nAPPUSR="sdk"\nSTARTMODE="never"\n')
    return eap({app: b'#!/bin/sh\nexit 0\n', 'package.conf': conf.encode(), 'param.conf': b'',
                'LICENSE': b'none\n', 'manifest.json': json.dumps(manifest).encode(),
                'html/settings.html': b'<html></html>\n'}, app)


def multipart(field, filename, data):
    boundary = 'vapixcheck' + os.urandom(8).hex()
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            'Content-Type: application/octet-stream\r\n\r\n').encode()
    return f'multipart/form-data; boundary={boundary}', head + data + f'\r\n--{boundary}--\r\n'.encode()


# ---- the checks --------------------------------------------------------------------------------

def check_auth(cam):
    """401 + WWW-Authenticate Digest realm="AXIS_<MAC>", nonce, algorithm=MD5, qop="auth"; 401 for
    bad credentials, 403 for a role too low; Basic only over HTTPS."""
    path = '/axis-cgi/param.cgi?action=list&group=Brand'
    r = cam.raw('GET', path)
    scheme, ch = parse_challenge(r.headers.get('www-authenticate', ''))
    check('auth: no credentials -> 401', r.status == 401, r.status)
    check('auth: challenge is Digest', scheme == 'Digest', r.headers.get('www-authenticate'))
    realm = 'AXIS_' + cam.conf['mac'].replace(':', '').upper()
    check('auth: realm AXIS_<MAC>', ch.get('realm') == realm, ch)
    check('auth: nonce, algorithm=MD5, qop="auth"', bool(ch.get('nonce')) and ch.get('algorithm') == 'MD5' and ch.get('qop') == 'auth', ch)
    check('auth: no stale on a first challenge', 'stale' not in ch, ch)

    user, password = cam.conf['users']['administrator']
    h = {'Authorization': cam.authorization(user, password + 'x', 'GET', path, ch, 1)}
    r = cam.raw('GET', path, headers=h)
    _, ch2 = parse_challenge(r.headers.get('www-authenticate', ''))
    check('auth: wrong password -> 401 with a new challenge, not stale', r.status == 401 and ch2.get('nonce') and ch2.get('stale') != 'true', (r.status, ch2))
    r = cam.raw('GET', path, headers={'Authorization': cam.authorization('nobody', 'x', 'GET', path, ch, 1)})
    check('auth: unknown user -> 401', r.status == 401, r.status)

    good = cam.authorization(user, password, 'GET', path, ch, 1, cnonce='c0ffee')
    r = cam.raw('GET', path, headers={'Authorization': good})
    check('auth: Digest MD5 qop=auth accepted', r.status == 200, r.status)
    r = cam.raw('GET', path, headers={'Authorization': good})
    check('auth: a nonce count used twice -> 401', r.status == 401, r.status)
    r = cam.raw('GET', path, headers={'Authorization': cam.authorization(user, password, 'GET', path, ch, 2)})
    check('auth: the next nonce count on the same nonce -> 200', r.status == 200, r.status)

    forged = dict(ch, nonce='0' * 32)
    r = cam.raw('GET', path, headers={'Authorization': cam.authorization(user, password, 'GET', path, forged, 1)})
    _, ch3 = parse_challenge(r.headers.get('www-authenticate', ''))
    check('auth: right password on an unknown (stale) nonce -> 401 stale=true', r.status == 401 and ch3.get('stale', '').lower() == 'true', (r.status, ch3))
    r = cam.raw('GET', path, headers={'Authorization': cam.authorization(user, password, 'GET', '/axis-cgi/other.cgi', ch3, 1)})
    check('auth: a Digest for another uri -> 401', r.status == 401, r.status)

    import base64
    basic = base64.b64encode(f'{user}:{password}'.encode()).decode()
    r = cam.raw('GET', path, headers={'Authorization': f'Basic {basic}'})
    check('auth: Basic over plain HTTP -> 401', r.status == 401, r.status)

    r = cam.raw('GET', '/axis-cgi/no-such.cgi')
    check('auth: unknown path without credentials -> 401 (no path disclosure)', r.status == 401, r.status)
    r = cam.request('GET', '/axis-cgi/no-such.cgi', 'viewer')
    check('auth: unknown path with credentials -> 404', r.status == 404, r.status)


def check_roles(cam):
    """Application management is Administrator; the full device properties need an Operator."""
    bdi_all = json.dumps({'apiVersion': '1.0', 'method': 'getAllProperties'}).encode()
    cases = [
        ('viewer', 'GET', '/axis-cgi/jpg/image.cgi?resolution=320x180', None, 200),
        ('viewer', 'POST', '/axis-cgi/basicdeviceinfo.cgi', bdi_all, 403),
        ('operator', 'POST', '/axis-cgi/basicdeviceinfo.cgi', bdi_all, 200),
        ('viewer', 'GET', '/axis-cgi/param.cgi?action=list&group=Brand', None, 403),
        ('operator', 'GET', '/axis-cgi/param.cgi?action=list&group=Brand', None, 200),
    ]
    for role in ('viewer', 'operator'):
        cases += [
            (role, 'POST', '/axis-cgi/applications/list.cgi', b'', 403),
            (role, 'GET', '/axis-cgi/applications/control.cgi?action=stop&package=omnisight', None, 403),
            (role, 'GET', '/axis-cgi/applications/config.cgi?action=get&name=AllowUnsigned', None, 403),
            (role, 'POST', '/axis-cgi/applications/upload.cgi', b'', 403),
            (role, 'GET', '/axis-cgi/admin/systemlog.cgi?appname=omnisight', None, 403),
        ]
    cases.append(('administrator', 'POST', '/axis-cgi/applications/list.cgi', b'', 200))
    for role, method, path, body, want in cases:
        hdr = {'Content-Type': 'application/json'} if body is not None and 'basicdeviceinfo' in path else {}
        r = cam.request(method, path, role, body, hdr)
        check(f'roles: {role} {method} {path.split("?")[0]} -> {want}', r.status == want, r.status)


def check_params(cam):
    """param.cgi list: root.Group.Name=value lines (GET query or POST form); update answers OK."""
    r = cam.request('GET', '/axis-cgi/param.cgi?action=list&group=Brand', 'administrator')
    lines = [l for l in r.text().replace('\r\n', '\n').split('\n') if l]
    check('param.cgi: list is text/plain root.Group.Name=value lines', r.status == 200 and r.headers.get('content-type', '').startswith('text/plain')
          and lines and all(re.match(r'^root\.Brand\.[A-Za-z0-9.]+=', l) for l in lines), r.text()[:200])
    check('param.cgi: Brand lists ProdNbr', any(l.startswith('root.Brand.ProdNbr=') for l in lines), lines)
    form = urllib.parse.urlencode({'action': 'list', 'group': 'Brand'}).encode()
    r2 = cam.request('POST', '/axis-cgi/param.cgi', 'administrator', form, {'Content-Type': 'application/x-www-form-urlencoded'})
    check('param.cgi: the same list as a POSTed form', r2.status == 200 and r2.body == r.body, r2.text()[:200])
    r = cam.request('GET', '/axis-cgi/param.cgi?action=list&group=Properties', 'administrator')
    check('param.cgi: Properties carries the serial number', f'root.Properties.System.SerialNumber={cam.conf["serial"]}' in r.text(), r.text()[:200])
    name = 'vapixcheck-' + os.urandom(3).hex()
    form = urllib.parse.urlencode({'action': 'update', 'root.Network.HostName': name}).encode()
    r = cam.request('POST', '/axis-cgi/param.cgi', 'administrator', form, {'Content-Type': 'application/x-www-form-urlencoded'})
    check('param.cgi: update answers OK', r.status == 200 and r.text().strip() == 'OK', r.text()[:200])
    r = cam.request('GET', '/axis-cgi/param.cgi?action=list&group=Network.HostName', 'administrator')
    check('param.cgi: the updated value lists', r.text().strip() == f'root.Network.HostName={name}', r.text()[:200])


ERROR_SHAPE = lambda j: isinstance(j.get('error'), dict) and isinstance(j['error'].get('code'), int) and isinstance(j['error'].get('message'), str)


def check_device_info(cam):
    """basicdeviceinfo.cgi: getAllProperties -> data.propertyList; errors as HTTP 200 + {"error":{code,message}}
    with the API's codes; getSupportedVersions without apiVersion."""
    p = '/axis-cgi/basicdeviceinfo.cgi'
    r = cam.jsonapi(p, {'apiVersion': '1.0', 'context': 'u1', 'method': 'getAllUnrestrictedProperties'})
    j = r.json() if r.status == 200 else {}
    pl = j.get('data', {}).get('propertyList', {})
    check('bdi: unrestricted properties without credentials', r.status == 200 and pl.get('SerialNumber') == cam.conf['serial'], (r.status, j))
    check('bdi: the unrestricted subset has no SoC or architecture', 'Soc' not in pl and 'Architecture' not in pl, pl)
    check('bdi: context echoed', j.get('context') == 'u1', j)
    r = cam.jsonapi(p, {'apiVersion': '1.0', 'method': 'getAllProperties'})
    check('bdi: getAllProperties without credentials -> 401', r.status == 401, r.status)
    r = cam.jsonapi(p, {'apiVersion': '1.0', 'context': 'c', 'method': 'getAllProperties'}, 'administrator')
    j = r.json()
    pl = j.get('data', {}).get('propertyList', {})
    check('bdi: application/json reply', r.headers.get('content-type', '').startswith('application/json'), r.headers.get('content-type'))
    check('bdi: getAllProperties shape', j.get('apiVersion', '').startswith('1.') and j.get('method') == 'getAllProperties' and j.get('context') == 'c', j)
    check('bdi: Architecture aarch64, ARTPEC SoC, serial, product, version',
          pl.get('Architecture') == 'aarch64' and re.match(r'^Axis Artpec-[89]$', pl.get('Soc', '')) and pl.get('SerialNumber') == cam.conf['serial']
          and pl.get('ProdNbr') and pl.get('ProdFullName', '').startswith('AXIS ') and pl.get('Version') == cam.conf['firmware'], pl)
    r = cam.jsonapi(p, {'context': 'v', 'method': 'getSupportedVersions'})
    j = r.json()
    check('bdi: getSupportedVersions without apiVersion', r.status == 200 and '1.0' in j.get('data', {}).get('apiVersions', []), j)
    errors = [
        ('bdi: invalid JSON -> 4000', b'{not json', 4000),
        ('bdi: unsupported version -> 2003', {'apiVersion': '9.0', 'method': 'getAllProperties'}, 2003),
        ('bdi: unknown method -> 2004', {'apiVersion': '1.0', 'method': 'noSuchMethod'}, 2004),
        ('bdi: apiVersion missing -> 4002', {'method': 'getAllProperties'}, 4002),
        ('bdi: bad propertyList -> 1000', {'apiVersion': '1.0', 'method': 'getProperties', 'params': {'propertyList': 'Soc'}}, 1000),
    ]
    for name, payload, code in errors:
        r = cam.jsonapi(p, payload, 'administrator')
        j = r.json() if r.status == 200 else {}
        check(name, r.status == 200 and ERROR_SHAPE(j) and j['error']['code'] == code, (r.status, r.text()[:200]))
    r = cam.request('GET', p, 'administrator')
    j = r.json() if r.status == 200 else {}
    check('bdi: GET -> 200 with error 2002 (only POST)', ERROR_SHAPE(j) and j['error']['code'] == 2002, (r.status, r.text()[:200]))
    r = cam.jsonapi('/axis-cgi/systemready.cgi', {'apiVersion': '1.4', 'method': 'systemready'})
    j = r.json() if r.status == 200 else {}
    check('systemready: answers without credentials', j.get('data', {}).get('systemready') in ('yes', 'no'), (r.status, j))


def check_discovery(cam, lts):
    """apidiscovery.cgi getApiList lists each JSON API (id, version); no login needed, except on the
    9.80 and 10.12 LTS tracks."""
    body = {'apiVersion': '1.0', 'context': 'd', 'method': 'getApiList'}
    r = cam.jsonapi('/axis-cgi/apidiscovery.cgi', body)
    j = r.json() if r.status == 200 else {}
    apis = {a.get('id'): a.get('version') for a in j.get('data', {}).get('apiList', [])}
    check('discovery: AXIS OS 12 answers without credentials', r.status == 200, r.status)
    for api in ('basic-device-info', 'mqtt-client', 'event-mqtt-bridge', 'api-discovery'):
        check(f'discovery: lists {api} with a version', re.match(r'^\d+\.\d+$', apis.get(api) or ''), apis)
    r = cam.jsonapi('/axis-cgi/apidiscovery.cgi', {'method': 'getSupportedVersions'})
    check('discovery: getSupportedVersions without apiVersion', r.status == 200 and '1.0' in r.json().get('data', {}).get('apiVersions', []), r.text()[:200])
    r = cam.jsonapi('/axis-cgi/apidiscovery.cgi', {'apiVersion': '1.0', 'method': 'nope'})
    check('discovery: unknown method -> 2004', r.status == 200 and r.json().get('error', {}).get('code') == 2004, r.text()[:200])
    fw = lts.conf['firmware']
    r = lts.jsonapi('/axis-cgi/apidiscovery.cgi', body)
    check(f'discovery: AXIS OS {fw} without credentials -> 401', r.status == 401, r.status)
    r = lts.jsonapi('/axis-cgi/apidiscovery.cgi', body, 'viewer')
    j = r.json() if r.status == 200 else {}
    check(f'discovery: AXIS OS {fw} lists for a viewer', r.status == 200 and any(a.get('id') == 'basic-device-info' for a in j.get('data', {}).get('apiList', [])), (r.status, j))


LIST_ATTRS = {'Name', 'NiceName', 'Vendor', 'Version', 'ApplicationID', 'License', 'Status', 'ConfigurationPage', 'VendorHomePage', 'LicenseName'}


def applications(cam):
    r = cam.request('POST', '/axis-cgi/applications/list.cgi', 'administrator', b'')
    apps = {}
    for m in re.finditer(r'<application\b([^>]*)/>', r.text()):
        attrs = dict((k, v) for k, v in re.findall(r'([A-Za-z]+)="([^"]*)"', m.group(1)))
        apps[attrs.get('Name')] = attrs
    return r, apps


def upload(cam, data, field='file'):
    ctype, body = multipart(field, 'app.eap', data)
    r = cam.request('POST', '/axis-cgi/applications/upload.cgi', 'administrator', body, {'Content-Type': ctype}, timeout=30)
    return r


def control(cam, action, package):
    q = urllib.parse.urlencode({'action': action, 'package': package})
    return cam.request('GET', f'/axis-cgi/applications/control.cgi?{q}', 'administrator')


def check_apps(cam, old):
    """Upload/control reply 200 text/plain `OK` or `Error: <n>`; list.cgi text/xml; config.cgi AllowUnsigned."""
    r, apps = applications(cam)
    check('list.cgi: text/xml <reply result="ok">', r.status == 200 and r.headers.get('content-type', '').startswith('text/xml') and r.text().startswith('<reply result="ok">'), r.text()[:200])
    check('list.cgi: lists the preinstalled app', 'omnisight' in apps, apps)
    extra = sorted({k for a in apps.values() for k in a} - LIST_ATTRS)
    check('list.cgi: only attributes a camera lists (no Files)', not extra, extra)
    check('list.cgi: Status is Running|Stopped|Idle', all(a.get('Status') in ('Running', 'Stopped', 'Idle') for a in apps.values()), apps)
    check('list.cgi: License="None"', all(a.get('License') == 'None' for a in apps.values()), apps)

    cfg = '/axis-cgi/applications/config.cgi?action=get&name=AllowUnsigned'
    r = cam.request('GET', cfg, 'administrator')
    check('config.cgi: AXIS OS 12 starts with AllowUnsigned false', r.status == 200 and re.search(r'name="AllowUnsigned"\s+value="false"', r.text()), r.text()[:200])
    r = upload(cam, app_package())
    check('upload.cgi: unsigned while AllowUnsigned is false -> Error: 2', r.text().strip() == 'Error: 2', r.text()[:100])
    r = cam.request('GET', '/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true', 'administrator')
    check('config.cgi: set answers result="ok"', r.status == 200 and '<reply result="ok">' in r.text(), r.text()[:200])
    r = cam.request('GET', cfg, 'administrator')
    check('config.cgi: get reads back true', re.search(r'name="AllowUnsigned"\s+value="true"', r.text()), r.text()[:200])
    r = cam.request('GET', '/axis-cgi/applications/config.cgi?action=get&name=NoSuchSetting', 'administrator')
    check('config.cgi: unknown name -> <reply result="error"><error type=…', re.search(r'<reply result="error">\s*<error type="\d+" message="[^"]*"/>', r.text()), r.text()[:200])
    r = old.request('GET', cfg, 'administrator')
    check(f'config.cgi: AXIS OS {old.conf["firmware"]} (before 11.2) has none -> 404', r.status == 404, r.status)
    r = upload(old, app_package())
    check(f'upload.cgi: AXIS OS {old.conf["firmware"]} installs an unsigned app', r.text().startswith('OK'), r.text()[:100])

    refusals = [
        ('not gzip -> Error: 1', b'this is not an eap', 1),
        ('manifest without schemaVersion -> Error: 29', app_package(drop=('schemaVersion',)), 29),
        ('manifest without runMode -> Error: 29', app_package(drop=('runMode',)), 29),
        ('runMode outside respawn|once|never -> Error: 29', app_package(setup_extra={'runMode': 'always'}), 29),
        ('unknown manifest key -> Error: 29', app_package(setup_extra={'colour': 'blue'}), 29),
        ('appName starting with a digit -> Error: 29', app_package(app='1app'), 29),
        ('version not semver -> Error: 29', app_package(version='1.0.x'), 29),
        ('an app asking for root -> Error: 13', app_package(setup_extra={'user': {'username': 'root', 'group': 'root'}}), 13),
        ('built for armv7hf -> Error: 5', app_package(setup_extra={'architecture': 'armv7hf'}), 5),
    ]
    for name, pkg, code in refusals:
        r = upload(cam, pkg)
        check(f'upload.cgi: {name}', r.status == 200 and r.headers.get('content-type', '').startswith('text/plain') and r.text().strip() == f'Error: {code}', (r.status, r.text()[:100]))
    r = upload(cam, app_package(), field='other')
    check('upload.cgi: no file part -> Error: 1', r.text().strip() == 'Error: 1', r.text()[:100])

    conf = {'settingPage': 'settings.html'}
    r = upload(cam, app_package(configuration=conf))
    check('upload.cgi: field "file" -> OK', r.status == 200 and r.headers.get('content-type', '').startswith('text/plain') and r.text().startswith('OK'), r.text()[:100])
    _, apps = applications(cam)
    a = apps.get('vapixcheck', {})
    check('upload.cgi: installs, does not start (Stopped)', a.get('Status') == 'Stopped', a)
    check('list.cgi: Name, NiceName, Vendor, Version of the manifest', (a.get('NiceName'), a.get('Vendor'), a.get('Version')) == ('VAPIX check', 'Conformance', '1.0.0'), a)
    check('list.cgi: an uploaded app shows only attributes a camera lists (no Files)', not set(a) - LIST_ATTRS, sorted(set(a) - LIST_ATTRS))
    check('list.cgi: ConfigurationPage from settingPage', a.get('ConfigurationPage') == 'local/vapixcheck/settings.html', a)
    check('list.cgi: VendorHomePage from vendorUrl', 'conformance.invalid' in a.get('VendorHomePage', ''), a)
    r = upload(cam, app_package(version='1.0.1'), field='packfil')
    _, apps = applications(cam)
    check('upload.cgi: field "packfil" -> OK (an upgrade)', r.text().startswith('OK') and apps.get('vapixcheck', {}).get('Version') == '1.0.1', (r.text()[:100], apps.get('vapixcheck')))
    r = upload(cam, app_package(app='VapixCheck'))
    check('upload.cgi: same name, other letter case -> Error: 14', r.text().strip() == 'Error: 14', r.text()[:100])

    r = upload(cam, app_package(app='vendored', setup_extra={'vendorId': '0123456789'}))
    r2 = upload(cam, app_package(app='vendored', version='1.1.0', setup_extra={'vendorId': 'abcdefabcd'}))
    check('upload.cgi: an upgrade from another vendorId -> Error: 27', r.text().startswith('OK') and r2.text().strip() == 'Error: 27', (r.text()[:40], r2.text()[:40]))
    check_upload_in_progress(cam)

    steps = [
        ('start', 'vapixcheck', 'OK', 'Running'),
        ('start', 'vapixcheck', 'Error: 6', 'Running'),
        ('stop', 'vapixcheck', 'OK', 'Stopped'),
        ('stop', 'vapixcheck', 'Error: 7', 'Stopped'),
        ('restart', 'vapixcheck', 'OK', 'Running'),
    ]
    for action, pkg, want, status in steps:
        r = control(cam, action, pkg)
        _, apps = applications(cam)
        got = apps.get(pkg, {}).get('Status')
        check(f'control.cgi: {action} -> {want}, then {status}', r.status == 200 and r.headers.get('content-type', '').startswith('text/plain')
              and r.text().strip().startswith(want) and (want != 'OK' or r.text().startswith('OK')) and got == status, (r.text()[:60], got))
    r = control(cam, 'start', 'nosuchapp')
    check('control.cgi: unknown package -> Error: 4', r.text().strip() == 'Error: 4', r.text()[:60])
    r = control(cam, 'start', '../etc')
    check('control.cgi: invalid package name -> Error: 1', r.text().strip() == 'Error: 1', r.text()[:60])
    r = control(cam, 'remove', 'vapixcheck')
    _, apps = applications(cam)
    check('control.cgi: remove -> OK, gone from the list', r.text().startswith('OK') and 'vapixcheck' not in apps, (r.text()[:60], list(apps)))
    r = cam.request('GET', '/axis-cgi/admin/systemlog.cgi?appname=omnisight', 'administrator')
    check('systemlog.cgi: text/plain for an administrator', r.status == 200 and r.headers.get('content-type', '').startswith('text/plain'), r.status)
    for name in list(apps):
        control(cam, 'remove', name)
    r, apps = applications(cam)
    check('list.cgi: an empty list is <reply result="ok">\\n</reply>', not apps and r.text().strip() == '<reply result="ok">\n</reply>', r.text()[:100])


def check_upload_in_progress(cam):
    """Error: 12 while another upload is still being received."""
    ctype, body = multipart('file', 'app.eap', app_package(app='slowapp'))
    path = '/axis-cgi/applications/upload.cgi'
    r = cam.raw('POST', path)
    _, ch = parse_challenge(r.headers.get('www-authenticate', ''))
    user, password = cam.conf['users']['administrator']
    slow = http.client.HTTPConnection(cam.host, cam.port, timeout=10)
    try:
        slow.putrequest('POST', path)
        slow.putheader('Authorization', cam.authorization(user, password, 'POST', path, ch, 1))
        slow.putheader('Content-Type', ctype)
        slow.putheader('Content-Length', str(len(body)))
        slow.endheaders()
        slow.send(body[:100])
        time.sleep(0.2)  # the camera is now receiving the first upload
        second = upload(cam, app_package(app='otherapp'))
        slow.send(body[100:])
        first = slow.getresponse().read().decode()
    finally:
        slow.close()
    check('upload.cgi: a second upload while one is received -> Error: 12, the first -> OK',
          second.text().strip() == 'Error: 12' and first.startswith('OK'), (second.text()[:40], first[:40]))
    control(cam, 'remove', 'slowapp')


def read_exact(resp, n):
    out = b''
    while len(out) < n:
        chunk = resp.read(n - len(out))
        if not chunk:
            raise EOFError('stream ended')
        out += chunk
    return out


def read_line(resp):
    line = resp.readline(4096)
    if not line:
        raise EOFError('stream ended')
    return line


def jpeg_segments(jpeg):
    """Marker -> payloads of the segments before SOS."""
    segs, i = [], 2
    while i + 4 <= len(jpeg) and jpeg[i] == 0xFF:
        marker = jpeg[i + 1]
        if marker == 0xDA:
            break
        length = int.from_bytes(jpeg[i + 2:i + 4], 'big')
        segs.append((marker, jpeg[i + 4:i + 2 + length]))
        i += 2 + length
    return segs


def check_video(cam):
    """MJPEG: multipart/x-mixed-replace; boundary=<b>; each part `--<b>` CRLF Content-Type: image/jpeg
    CRLF Content-Length: n CRLF CRLF + JPEG. Snapshot: image/jpeg."""
    r = cam.request('GET', '/axis-cgi/jpg/image.cgi?resolution=320x180', 'viewer')
    b = r.body
    check('image.cgi: image/jpeg, SOI..EOI', r.status == 200 and r.headers.get('content-type') == 'image/jpeg' and b[:2] == b'\xff\xd8' and b[-2:] == b'\xff\xd9', (r.status, r.headers))
    check('image.cgi: no X-Frame-Timestamp header', 'x-frame-timestamp' not in r.headers, r.headers)
    com = [p for m, p in jpeg_segments(b) if m == 0xFE]
    if any(p.startswith(b'omnisight-ts=') for p in com):
        RESULTS.append({'check': 'known: JPEG COM segment omnisight-ts=<ms>', 'ok': True, 'known': True, 'detail': 'the simulator stamps the capture time for the feed latency figure'})

    path = '/axis-cgi/mjpg/video.cgi?resolution=320x180&fps=10&compression=30&camera=1'
    user, password = cam.conf['users']['viewer']
    first = cam.raw('GET', path)
    _, ch = parse_challenge(first.headers.get('www-authenticate', ''))
    check('mjpeg: no credentials -> 401', first.status == 401, first.status)
    conn = http.client.HTTPConnection(cam.host, cam.port, timeout=10)
    try:
        conn.request('GET', path, headers={'Authorization': cam.authorization(user, password, 'GET', path, ch, 1)})
        resp = conn.getresponse()
        ctype = resp.getheader('Content-Type', '')
        m = re.match(r'^multipart/x-mixed-replace;\s*boundary=("?)([^";]+)\1$', ctype)
        check('mjpeg: 200 multipart/x-mixed-replace with a boundary', resp.status == 200 and m, (resp.status, ctype))
        if not m:
            return
        boundary = m.group(2).encode()
        parts, extra_headers, problems = 0, set(), []
        for _ in range(4):
            line = read_line(resp)
            while line == b'\r\n':
                line = read_line(resp)
            if line != b'--' + boundary + b'\r\n':
                problems.append(f'part starts with {line[:60]!r}')
                break
            headers = {}
            while True:
                h = read_line(resp)
                if h == b'\r\n':
                    break
                k, _, v = h.decode('latin-1').partition(':')
                headers[k.strip()] = v.strip()
            extra_headers |= set(headers) - {'Content-Type', 'Content-Length'}
            if headers.get('Content-Type') != 'image/jpeg' or not headers.get('Content-Length', '').isdigit():
                problems.append(f'part headers {headers}')
                break
            body = read_exact(resp, int(headers['Content-Length']))
            if body[:2] != b'\xff\xd8' or body[-2:] != b'\xff\xd9':
                problems.append('part is not a complete JPEG')
            parts += 1
        check('mjpeg: parts framed --<b>, Content-Type: image/jpeg, Content-Length, complete JPEGs', parts == 4 and not problems, problems)
        check('mjpeg: part headers are exactly Content-Type and Content-Length (no X-Frame-Timestamp)', not extra_headers, sorted(extra_headers))
    finally:
        conn.close()


def main():
    conf = json.load(open(sys.argv[1]))
    cam, lts, old = Camera(conf['current']), Camera(conf['lts']), Camera(conf['old'])
    started = time.monotonic()
    for step in (lambda: check_auth(cam), lambda: check_roles(cam), lambda: check_params(cam), lambda: check_device_info(cam),
                 lambda: check_discovery(cam, lts), lambda: check_video(cam), lambda: check_apps(cam, old)):
        try:
            step()
        except Exception as e:  # a crash in one family fails it and the rest still run
            record(f'crashed: {type(e).__name__}', False, e)
    for r in RESULTS:
        print(json.dumps(r))
    failed = [r for r in RESULTS if not r['ok']]
    known = [r['check'] for r in RESULTS if r.get('known')]
    print(json.dumps({'summary': {'passed': len(RESULTS) - len(failed) - len(known), 'failed': len(failed), 'known': known, 'seconds': round(time.monotonic() - started, 2)}}))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
