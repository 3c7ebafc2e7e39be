#!/usr/bin/python3
"""
Loopback stand-in for the AWS pieces a remote-write agent talks to, on one port:

  * EC2 IMDSv2 (token-only: a GET without a valid X-aws-ec2-metadata-token gets 401),
  * STS AssumeRole (awsQuery, SigV4 service `sts`),
  * a verifying remote-write front for every other POST path (SigV4, service `aps` by default),
    which forwards accepted bodies to a real Prometheus `/api/v1/write`,
  * an unauthenticated JSON admin API under /_admin/.

Signatures are checked with botocore's SigV4Auth (canonical_request / string_to_sign /
signature with the received X-Amz-Date), independently of the agent's signer.

Run with Debian's python3 (it has botocore):
  /usr/bin/python3 aws-standin.py --port 8080 --region eu-west-1 \
      --upstream http://127.0.0.1:9090/api/v1/write
"""
import argparse
import base64
import calendar
import hashlib
import hmac
import http.client
import json
import re
import secrets
import string
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

AMZ_DATE_FORMAT = '%Y%m%dT%H%M%SZ'
STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/'
IMDS_TOKEN_HEADER = 'X-aws-ec2-metadata-token'
IMDS_TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds'
INSTANCE_ID = 'i-0a1b2c3d4e5f60718'
UPSTREAM_REQUEST_HEADERS = ('Content-Type', 'Content-Encoding', 'X-Prometheus-Remote-Write-Version')
ROLE_ARN_RE = re.compile(r'^arn:aws[a-z-]*:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$')
SESSION_NAME_RE = re.compile(r'^[\w+=,.@-]{2,64}$')

CONFIG_DEFAULTS = {
    # Lifetime of instance-profile credentials minted by rotate (EC2 hands out ~6 h ones).
    'imdsLifetimeSeconds': 6 * 3600,
    # When true, a credentials GET rotates first if the current key has expired or has less
    # than min(300 s, half its lifetime) left (as EC2 does); off by default: rotation is the
    # admin's call.
    'imdsAutoRotate': False,
    # Lifetime of AssumeRole credentials; null = the request's DurationSeconds, else 3600.
    'stsLifetimeSeconds': None,
    # The role's MaxSessionDuration: a larger DurationSeconds is a ValidationError.
    'maxSessionDurationSeconds': 3600,
    # Allowed |X-Amz-Date - now|.
    'maxSkewSeconds': 300,
    # Role ARNs AssumeRole may assume; null = any well-formed role ARN.
    'assumableRoles': None,
    # Outage switches: the service answers 503 to everything.
    'imdsDown': False,
    'stsDown': False,
    'writeDown': False,
}


def now() -> float:
    return time.time()


def iso(t: float) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


def iso_ms(t: float) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % int((t % 1) * 1000)


def amz(t: float) -> str:
    return time.strftime(AMZ_DATE_FORMAT, time.gmtime(t))


def rand(alphabet: str, n: int) -> str:
    return ''.join(secrets.choice(alphabet) for _ in range(n))


KEY_ALPHABET = string.ascii_uppercase + '234567'
SECRET_ALPHABET = string.ascii_letters + string.digits + '+/'


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.config = dict(CONFIG_DEFAULTS)
        if args.imds_lifetime is not None:
            self.config['imdsLifetimeSeconds'] = args.imds_lifetime
        if args.sts_lifetime is not None:
            self.config['stsLifetimeSeconds'] = args.sts_lifetime
        self.keys = {}
        self.imds_current = None
        self.imds_tokens = {}
        self.log = []
        self.seq = 0
        self._rotate_locked(self.config['imdsLifetimeSeconds'])

    # ---- keys ---------------------------------------------------------------------------
    def _mint_locked(self, source, lifetime, **extra):
        t = now()
        temporary = source != 'static'
        akid = ('ASIA' if temporary else 'AKIA') + rand(KEY_ALPHABET, 16)
        key = {
            'accessKeyId': akid,
            'secretAccessKey': rand(SECRET_ALPHABET, 40),
            # Real session tokens are long base64 blobs with '+', '/' and '='.
            'sessionToken': base64.b64encode(b'\x01' + secrets.token_bytes(359)).decode() if temporary else None,
            'source': source,
            'createdAt': t,
            'expiration': (t + lifetime) if temporary else None,
            'expiredByAdmin': False,
            'roleArn': None,
            'sessionName': None,
            'parentAccessKeyId': None,
        }
        key.update(extra)
        self.keys[akid] = key
        return key

    def _rotate_locked(self, lifetime):
        previous = self.imds_current
        role = self.args.role_name
        key = self._mint_locked(
            'imds', lifetime,
            roleArn='arn:aws:iam::%s:role/%s' % (self.args.account_id, role),
            sessionName=INSTANCE_ID,
        )
        self.imds_current = key['accessKeyId']
        return key, previous

    def rotate(self, lifetime=None):
        with self.lock:
            key, previous = self._rotate_locked(lifetime if lifetime is not None else self.config['imdsLifetimeSeconds'])
            return {'accessKeyId': key['accessKeyId'], 'expiration': iso(key['expiration']), 'previous': previous}

    def current_imds_key(self):
        with self.lock:
            key = self.keys[self.imds_current]
            if self.config['imdsAutoRotate']:
                left = key['expiration'] - now()
                life = key['expiration'] - key['createdAt']
                if key['expiredByAdmin'] or left < min(300, life / 2):
                    key, _ = self._rotate_locked(self.config['imdsLifetimeSeconds'])
            return dict(key)

    @staticmethod
    def key_expired(key):
        return key['expiredByAdmin'] or (key['expiration'] is not None and now() >= key['expiration'])

    def key_view(self, key):
        out = dict(key)
        out['createdAt'] = iso(key['createdAt'])
        out['expiration'] = iso(key['expiration']) if key['expiration'] is not None else None
        out['expired'] = self.key_expired(key)
        out['current'] = key['accessKeyId'] == self.imds_current
        return out

    def caller_arn(self, key):
        """The ARN STS would report for the principal holding `key`."""
        if key['source'] == 'static':
            return 'arn:aws:iam::%s:user/stand-in-user' % self.args.account_id
        m = ROLE_ARN_RE.match(key['roleArn'] or '')
        role = m.group(3) if m else self.args.role_name
        return 'arn:aws:sts::%s:assumed-role/%s/%s' % (self.args.account_id, role, key['sessionName'])

    # ---- log ----------------------------------------------------------------------------
    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry = dict(entry, seq=self.seq)
            self.log.append(entry)


class AuthError(Exception):
    """kind: missing | incomplete | unknown | expired | signature"""

    def __init__(self, kind, message, access_key_id=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.access_key_id = access_key_id


class ReceivedRequestSigV4(SigV4Auth):
    """SigV4Auth whose signed headers are exactly the ones the request says it signed, with
    the values received (botocore would otherwise take all of request.headers minus its
    blacklist, and add a Host of its own)."""

    def __init__(self, credentials, service_name, region_name, signed):
        super().__init__(credentials, service_name, region_name)
        self._signed = signed

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, values in self._signed:
            for v in values:
                header_map[name] = v
        return header_map


def parse_authorization(value):
    if not value.startswith('AWS4-HMAC-SHA256 '):
        algo = value.split(' ', 1)[0]
        raise AuthError('incomplete', "Unsupported signing algorithm '%s' (only AWS4-HMAC-SHA256)." % algo)
    params = {}
    for part in value[len('AWS4-HMAC-SHA256 '):].split(','):
        part = part.strip()
        if not part:
            continue
        k, eq, v = part.partition('=')
        if not eq:
            raise AuthError('incomplete', "Authorization header requires '%s' to be a key=value pair. Authorization=%s" % (part, value))
        params[k.strip()] = v.strip()
    missing = [p for p in ('Credential', 'Signature', 'SignedHeaders') if p not in params]
    if missing:
        raise AuthError('incomplete', ' '.join("Authorization header requires '%s' parameter." % p for p in missing)
                        + ' Authorization=' + value)
    scope = params['Credential'].split('/')
    if len(scope) != 5:
        raise AuthError('incomplete', "Credential should be scoped to a valid region, service and terminator. Credential=%s"
                        % params['Credential'])
    return params, scope


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'aws-standin/1'

    def version_string(self):
        return self.server_version

    # ---- plumbing -----------------------------------------------------------------------
    @property
    def st(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, fmt, *args):
        if self.st.args.verbose:
            sys.stderr.write('%s %s\n' % (self.address_string(), fmt % args))

    def read_body(self):
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b';', 1)[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b''.join(chunks)
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n > 0 else b''

    def send(self, status, body=b'', content_type='text/plain', headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None, compact=False):
        text = json.dumps(obj, separators=(',', ':')) if compact else json.dumps(obj, indent=1)
        self.send(status, text, 'application/json', headers)

    def entry(self, kind, **kw):
        e = {
            'time': iso_ms(now()),
            'kind': kind,
            'method': self.command,
            'path': self.path,
            'accessKeyId': None,
            'ok': False,
            'status': None,
            'error': None,
            'message': None,
            'tokenHeaderSeen': False,
        }
        e.update(kw)
        return e

    def dispatch(self):
        try:
            body = self.read_body()
        except Exception as e:  # noqa: BLE001
            self.send(400, 'bad request body: %s' % e)
            return
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path.startswith('/_admin/'):
                self.admin(path, body)
            elif path == '/latest' or path.startswith('/latest/'):
                self.imds(path)
            elif self.command == 'POST' and path == '/':
                self.sts(body)
            elif self.command == 'POST':
                self.write(body)
            else:
                self.send_json(404, {'message': 'Not Found'}, {'x-amzn-ErrorType': 'NotFoundException'}, compact=True)
        except BrokenPipeError:
            pass

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = dispatch

    # ---- SigV4 verification -------------------------------------------------------------
    def verify_sigv4(self, service, regions, body):
        """Returns (key, details) or raises AuthError."""
        st = self.st
        auth = self.headers.get('Authorization')
        if auth is None:
            raise AuthError('missing', 'Missing Authentication Token')
        params, (akid, scope_date, scope_region, scope_service, terminator) = parse_authorization(auth)
        amz_date = self.headers.get('X-Amz-Date')
        if amz_date is None:
            raise AuthError('incomplete', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                            'Authorization=' + auth, akid)
        try:
            signed_at = calendar.timegm(time.strptime(amz_date, AMZ_DATE_FORMAT))
        except ValueError:
            raise AuthError('incomplete', "X-Amz-Date '%s' is not in ISO 8601 basic format (YYYYMMDD'T'HHMMSS'Z')." % amz_date, akid)
        signed_names = params['SignedHeaders'].split(';')
        if 'host' not in signed_names:
            raise AuthError('incomplete', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", akid)
        if signed_names != sorted(signed_names) or any(n != n.lower() or not n for n in signed_names):
            raise AuthError('signature', 'SignedHeaders must be lowercase and sorted: %s' % params['SignedHeaders'], akid)

        with st.lock:
            key = st.keys.get(akid)
            key = dict(key) if key else None
        if key is None:
            raise AuthError('unknown', 'The security token included in the request is invalid.', akid)
        token = self.headers.get('X-Amz-Security-Token')
        if key['sessionToken'] is not None and token != key['sessionToken']:
            raise AuthError('unknown', 'The security token included in the request is invalid.', akid)
        if key['sessionToken'] is None and token is not None:
            raise AuthError('unknown', 'The security token included in the request is invalid.', akid)
        if State.key_expired(key):
            raise AuthError('expired', 'The security token included in the request is expired', akid)

        if scope_date != amz_date[:8]:
            raise AuthError('signature', "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                            "HTTP: '%s' != '%s', from '%s'." % (scope_date, amz_date[:8], amz_date), akid)
        if scope_region not in regions:
            raise AuthError('signature', "Credential should be scoped to a valid region. (got '%s', want %s)"
                            % (scope_region, ' or '.join("'%s'" % r for r in regions)), akid)
        if scope_service != service:
            raise AuthError('signature', "Credential should be scoped to correct service: '%s'. " % service, akid)
        if terminator != 'aws4_request':
            raise AuthError('signature', "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'."
                            % terminator, akid)
        t = now()
        skew = st.config['maxSkewSeconds']
        if signed_at < t - skew:
            raise AuthError('signature', 'Signature expired: %s is now earlier than %s (%s - %d min.)'
                            % (amz_date, amz(t - skew), amz(t), skew // 60), akid)
        if signed_at > t + skew:
            raise AuthError('signature', 'Signature not yet current: %s is still later than %s (%s + %d min.)'
                            % (amz_date, amz(t + skew), amz(t), skew // 60), akid)

        body_hash = hashlib.sha256(body).hexdigest()
        content_sha = self.headers.get('X-Amz-Content-SHA256')
        if content_sha is not None and content_sha != body_hash:
            # botocore (and S3) would take this header's word for the payload hash; a service
            # hashes what it received, so a header that lies is refused.
            raise AuthError('signature', "The provided 'x-amz-content-sha256' header (%s) does not match the SHA-256 of the "
                            'request body (%s).' % (content_sha, body_hash), akid)

        signed = [(n, self.headers.get_all(n) or ['']) for n in signed_names]
        raw = urllib.parse.urlsplit(self.path)
        query = []
        for pair in raw.query.split('&') if raw.query else []:
            if not pair:
                continue
            k, _, v = pair.partition('=')
            query.append((urllib.parse.unquote(k), urllib.parse.unquote(v)))
        # No headers on the AWSRequest itself: the signed ones come from ReceivedRequestSigV4,
        # and without X-Amz-Content-SHA256 there botocore hashes the received body.
        req = AWSRequest(method=self.command, url='http://stand-in' + (raw.path or '/'), data=body, params=query)
        req.context['timestamp'] = amz_date
        signer = ReceivedRequestSigV4(Credentials(akid, key['secretAccessKey'], key['sessionToken']),
                                      scope_service, scope_region, signed)
        canonical = signer.canonical_request(req)
        to_sign = signer.string_to_sign(req, canonical)
        expected = signer.signature(to_sign, req)
        if not hmac.compare_digest(expected, params['Signature']):
            raise AuthError('signature', 'The request signature we calculated does not match the signature you provided. '
                            'Check your AWS Secret Access Key and signing method. Consult the service documentation for '
                            "details.\n\nThe Canonical String for this request should have been\n'%s'\n\n"
                            "The String-to-Sign should have been\n'%s'\n" % (canonical, to_sign), akid)
        return key, {'region': scope_region, 'service': scope_service, 'signedHeaders': params['SignedHeaders']}

    # ---- IMDS ---------------------------------------------------------------------------
    def imds_html(self, status, title):
        body = ('<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
                '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" '
                'xml:lang="en" lang="en">\n <head>\n  <title>%s</title>\n </head>\n <body>\n  <h1>%s</h1>\n </body>\n</html>\n'
                % (title, title))
        self.send(status, body, 'text/html')

    def imds(self, path):
        st = self.st
        token = self.headers.get(IMDS_TOKEN_HEADER)
        e = self.entry('imds', tokenHeaderSeen=token is not None)

        def done(status, ok=False, error=None, akid=None, text=None, html=None, content_type='text/plain', headers=None):
            e.update(status=status, ok=ok, error=error, accessKeyId=akid)
            st.record(e)
            if html is not None:
                self.imds_html(status, html)
            else:
                self.send(status, text or '', content_type, headers)

        if st.config['imdsDown']:
            return done(503, error='ServiceUnavailable', html='503 - Service Unavailable')
        if path == '/latest/api/token':
            if self.command != 'PUT':
                return done(405, error='MethodNotAllowed', html='405 - Method Not Allowed')
            if self.headers.get('X-Forwarded-For') is not None:
                return done(403, error='Forbidden', html='403 - Forbidden')
            ttl_s = self.headers.get(IMDS_TTL_HEADER)
            try:
                ttl = int(ttl_s)
            except (TypeError, ValueError):
                ttl = 0
            if not 1 <= ttl <= 21600:
                return done(400, error='BadRequest', html='400 - Bad Request')
            tok = 'AQAEA' + base64.urlsafe_b64encode(secrets.token_bytes(39)).decode().rstrip('=')
            with st.lock:
                st.imds_tokens[tok] = now() + ttl
            return done(200, ok=True, text=tok, headers={IMDS_TTL_HEADER: str(ttl)})
        if self.command not in ('GET', 'HEAD'):
            return done(405, error='MethodNotAllowed', html='405 - Method Not Allowed')
        with st.lock:
            expiry = st.imds_tokens.get(token) if token is not None else None
        if expiry is None or expiry <= now():
            # IMDSv1 is disabled (HttpTokens=required): no or a bad/expired token is a 401.
            return done(401, error='MissingToken' if token is None else 'InvalidToken', html='401 - Unauthorized')

        role = self.st.args.role_name
        creds_prefix = '/latest/meta-data/iam/security-credentials'
        if path in (creds_prefix, creds_prefix + '/'):
            return done(200, ok=True, text=role)
        if path.startswith(creds_prefix + '/'):
            if path[len(creds_prefix) + 1:] != role:
                return done(404, error='NotFound', html='404 - Not Found')
            key = st.current_imds_key()
            doc = {
                'Code': 'Success',
                'LastUpdated': iso(key['createdAt']),
                'Type': 'AWS-HMAC',
                'AccessKeyId': key['accessKeyId'],
                'SecretAccessKey': key['secretAccessKey'],
                'Token': key['sessionToken'],
                'Expiration': iso(key['expiration']),
            }
            return done(200, ok=True, akid=key['accessKeyId'], text=json.dumps(doc, indent=2, separators=(',', ' : ')))
        account = st.args.account_id
        region = st.args.region
        static = {
            '/latest/meta-data/iam/info': json.dumps({
                'Code': 'Success', 'LastUpdated': iso(now()),
                'InstanceProfileArn': 'arn:aws:iam::%s:instance-profile/%s' % (account, role),
                'InstanceProfileId': 'AIPA' + 'STANDIN000000000',
            }, indent=2, separators=(',', ' : ')),
            '/latest/meta-data/instance-id': INSTANCE_ID,
            '/latest/meta-data/placement/region': region,
            '/latest/meta-data/placement/availability-zone': region + 'a',
            '/latest/dynamic/instance-identity/document': json.dumps({
                'accountId': account, 'architecture': 'x86_64', 'availabilityZone': region + 'a',
                'imageId': 'ami-0123456789abcdef0', 'instanceId': INSTANCE_ID, 'instanceType': 'm5.xlarge',
                'pendingTime': iso(now() - 3600), 'privateIp': '10.0.0.10', 'region': region, 'version': '2017-09-30',
            }, indent=2, separators=(',', ' : ')),
        }
        if path in static:
            return done(200, ok=True, text=static[path])
        # Includes /latest/meta-data/iam/security-credentials-extended/, which this SDK version
        # does not ask for; a 404 is what makes newer SDKs fall back to the classic path.
        return done(404, error='NotFound', html='404 - Not Found')

    # ---- STS ----------------------------------------------------------------------------
    def sts_error(self, status, code, message, e, type_='Sender'):
        request_id = str(uuid.uuid4())
        body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
                '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                % (STS_NS, type_, code, xml_escape(message), request_id))
        e.update(status=status, ok=False, error=code, message=message)
        self.st.record(e)
        self.send(status, body, 'text/xml', {'x-amzn-RequestId': request_id})

    def sts(self, body):
        st = self.st
        e = self.entry('sts', tokenHeaderSeen=self.headers.get('X-Amz-Security-Token') is not None)
        if st.config['stsDown']:
            return self.sts_error(503, 'ServiceUnavailable', 'Service is unable to handle request.', e, 'Receiver')
        regions = st.args.sts_regions
        try:
            key, details = self.verify_sigv4('sts', regions, body)
        except AuthError as err:
            e['accessKeyId'] = err.access_key_id
            status, code = {
                'missing': (403, 'MissingAuthenticationToken'),
                'incomplete': (400, 'IncompleteSignature'),
                'unknown': (403, 'InvalidClientTokenId'),
                'expired': (403, 'ExpiredToken'),
                'signature': (403, 'SignatureDoesNotMatch'),
            }[err.kind]
            message = 'Request is missing Authentication Token' if err.kind == 'missing' else err.message
            return self.sts_error(status, code, message, e)
        e.update(accessKeyId=key['accessKeyId'], source=key['source'], **details)

        ctype = (self.headers.get('Content-Type') or '').split(';')[0].strip().lower()
        if ctype != 'application/x-www-form-urlencoded':
            return self.sts_error(400, 'InvalidParameterValue', 'Content-Type must be application/x-www-form-urlencoded, '
                                  'not %r' % ctype, e)
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode('utf-8', 'replace'), keep_blank_values=True).items()}
        action, version = form.get('Action'), form.get('Version')
        if action is None:
            return self.sts_error(400, 'MissingAction', 'Missing Action', e)
        if action != 'AssumeRole' or version != '2011-06-15':
            return self.sts_error(400, 'InvalidAction', 'Could not find operation %s for version %s' % (action, version), e)
        role_arn, session = form.get('RoleArn'), form.get('RoleSessionName')
        e.update(roleArn=role_arn, sessionName=session)
        if not role_arn or not ROLE_ARN_RE.match(role_arn):
            return self.sts_error(400, 'ValidationError', '%s is not a valid role ARN' % role_arn
                                  if role_arn else "1 validation error detected: Value null at 'roleArn' failed to satisfy "
                                  'constraint: Member must not be null', e)
        if not session or not SESSION_NAME_RE.match(session):
            return self.sts_error(400, 'ValidationError', "1 validation error detected: Value '%s' at 'roleSessionName' failed "
                                  'to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*'
                                  ' and have length between 2 and 64' % session, e)
        duration = None
        if 'DurationSeconds' in form:
            try:
                duration = int(form['DurationSeconds'])
            except ValueError:
                return self.sts_error(400, 'ValidationError', "Value '%s' at 'durationSeconds' is not an integer"
                                      % form['DurationSeconds'], e)
            if duration < 900:
                return self.sts_error(400, 'ValidationError', "1 validation error detected: Value '%d' at 'durationSeconds' "
                                      'failed to satisfy constraint: Member must have value greater than or equal to 900'
                                      % duration, e)
            if duration > st.config['maxSessionDurationSeconds']:
                return self.sts_error(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set'
                                      ' for this role.', e)
        allowed = st.config['assumableRoles']
        if allowed is not None and role_arn not in allowed:
            return self.sts_error(403, 'AccessDenied', 'User: %s is not authorized to perform: sts:AssumeRole on resource: %s'
                                  % (st.caller_arn(key), role_arn), e)
        lifetime = st.config['stsLifetimeSeconds']
        if lifetime is None:
            lifetime = duration if duration is not None else 3600
        with st.lock:
            new = st._mint_locked('sts', lifetime, roleArn=role_arn, sessionName=session,
                                  parentAccessKeyId=key['accessKeyId'])
        role_name = ROLE_ARN_RE.match(role_arn).group(3)
        account = ROLE_ARN_RE.match(role_arn).group(1)
        request_id = str(uuid.uuid4())
        xml = ('<AssumeRoleResponse xmlns="%s">\n'
               '  <AssumeRoleResult>\n'
               '    <AssumedRoleUser>\n'
               '      <AssumedRoleId>AROA%s:%s</AssumedRoleId>\n'
               '      <Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>\n'
               '    </AssumedRoleUser>\n'
               '    <Credentials>\n'
               '      <AccessKeyId>%s</AccessKeyId>\n'
               '      <SecretAccessKey>%s</SecretAccessKey>\n'
               '      <SessionToken>%s</SessionToken>\n'
               '      <Expiration>%s</Expiration>\n'
               '    </Credentials>\n'
               '  </AssumeRoleResult>\n'
               '  <ResponseMetadata>\n'
               '    <RequestId>%s</RequestId>\n'
               '  </ResponseMetadata>\n'
               '</AssumeRoleResponse>\n'
               % (STS_NS, hashlib.sha256(role_arn.encode()).hexdigest()[:17].upper(), xml_escape(session), account,
                  xml_escape(role_name), xml_escape(session), new['accessKeyId'], xml_escape(new['secretAccessKey']),
                  xml_escape(new['sessionToken']), iso(new['expiration']), request_id))
        e.update(status=200, ok=True, issuedAccessKeyId=new['accessKeyId'])
        st.record(e)
        self.send(200, xml, 'text/xml', {'x-amzn-RequestId': request_id})

    # ---- remote-write front -------------------------------------------------------------
    def write_error(self, status, error_type, message, e):
        request_id = str(uuid.uuid4())
        e.update(status=status, ok=False, error=error_type, message=message)
        self.st.record(e)
        self.send_json(status, {'message': message}, {'x-amzn-ErrorType': error_type, 'x-amzn-RequestId': request_id},
                       compact=True)

    def write(self, body):
        st = self.st
        e = self.entry('write', tokenHeaderSeen=self.headers.get('X-Amz-Security-Token') is not None)
        if st.config['writeDown']:
            return self.write_error(503, 'ServiceUnavailableException', 'Service Unavailable', e)
        try:
            key, details = self.verify_sigv4(st.args.service, [st.args.region], body)
        except AuthError as err:
            e['accessKeyId'] = err.access_key_id
            error_type = {
                'missing': 'MissingAuthenticationTokenException',
                'incomplete': 'IncompleteSignatureException',
                'unknown': 'UnrecognizedClientException',
                'expired': 'ExpiredTokenException',
                'signature': 'InvalidSignatureException',
            }[err.kind]
            return self.write_error(403, error_type, err.message, e)
        e.update(accessKeyId=key['accessKeyId'], source=key['source'], roleArn=key['roleArn'], **details)
        upstream = st.args.upstream
        if not upstream:
            e.update(status=200, ok=True)
            st.record(e)
            return self.send(200, b'', 'text/plain')
        u = urllib.parse.urlsplit(upstream)
        headers = {h: self.headers[h] for h in UPSTREAM_REQUEST_HEADERS if self.headers.get(h) is not None}
        headers['Content-Length'] = str(len(body))
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
            conn.request('POST', (u.path or '/') + ('?' + u.query if u.query else ''), body=body, headers=headers)
            resp = conn.getresponse()
            resp_body = resp.read()
            relay = {k: v for k, v in resp.getheaders() if k.lower().startswith('x-prometheus-')}
            ctype = resp.getheader('Content-Type') or 'text/plain'
            conn.close()
        except OSError as err:
            e.update(upstreamStatus=None)
            return self.write_error(502, 'BadGatewayException', 'upstream %s: %s' % (upstream, err), e)
        e.update(status=resp.status, ok=200 <= resp.status < 300, upstreamStatus=resp.status,
                 error=None if resp.status < 300 else 'Upstream%d' % resp.status,
                 message=None if resp.status < 300 else resp_body.decode('utf-8', 'replace')[:500])
        st.record(e)
        self.send(resp.status, resp_body, ctype, relay)

    # ---- admin --------------------------------------------------------------------------
    def admin(self, path, body):
        st = self.st
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError as err:
            return self.send_json(400, {'error': 'bad JSON: %s' % err})
        if not isinstance(data, dict):
            return self.send_json(400, {'error': 'body must be a JSON object'})
        route = (self.command, path.rstrip('/'))
        if route == ('GET', '/_admin/health'):
            return self.send_json(200, {'ok': True})
        if route == ('POST', '/_admin/rotate'):
            lifetime = data.get('expiresInSeconds')
            if lifetime is not None and not isinstance(lifetime, (int, float)):
                return self.send_json(400, {'error': 'expiresInSeconds must be a number'})
            return self.send_json(200, st.rotate(lifetime))
        if route == ('POST', '/_admin/expire'):
            akid = data.get('accessKeyId')
            with st.lock:
                key = st.keys.get(akid)
                if key is None:
                    return self.send_json(404, {'error': 'unknown access key %r' % akid})
                key['expiredByAdmin'] = True
                return self.send_json(200, st.key_view(key))
        if route == ('POST', '/_admin/mint'):
            # A long-term (AKIA…) key with no session token and no expiration.
            if data.get('source', 'static') != 'static':
                return self.send_json(400, {'error': 'only source "static" can be minted'})
            with st.lock:
                return self.send_json(200, st.key_view(st._mint_locked('static', 0)))
        if route in (('GET', '/_admin/config'), ('POST', '/_admin/config')):
            if self.command == 'POST':
                unknown = [k for k in data if k not in CONFIG_DEFAULTS]
                if unknown:
                    return self.send_json(400, {'error': 'unknown config keys: %s' % ', '.join(unknown),
                                                'known': sorted(CONFIG_DEFAULTS)})
                with st.lock:
                    st.config.update(data)
            with st.lock:
                return self.send_json(200, dict(st.config))
        if route == ('GET', '/_admin/requests'):
            with st.lock:
                return self.send_json(200, list(st.log))
        if route == ('DELETE', '/_admin/requests'):
            with st.lock:
                st.log.clear()
            return self.send_json(200, [])
        if route == ('GET', '/_admin/keys'):
            with st.lock:
                return self.send_json(200, [st.key_view(k) for k in st.keys.values()])
        return self.send_json(404, {'error': 'no admin route %s %s' % (self.command, path)})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--region', required=True, help='signing region the remote-write front accepts')
    p.add_argument('--service', default='aps', help='signing service the remote-write front accepts')
    p.add_argument('--upstream', help="URL accepted writes are forwarded to (a Prometheus's /api/v1/write)")
    p.add_argument('--sts-region', dest='sts_regions', action='append',
                   help='signing region STS accepts (repeatable; default: --region and us-east-1)')
    p.add_argument('--account-id', default='123456789012')
    p.add_argument('--role-name', default='dbx-prom-agent-instance', help='the instance profile role IMDS lists')
    p.add_argument('--imds-lifetime', type=float, help='seconds (default 21600)')
    p.add_argument('--sts-lifetime', type=float, help='seconds (default: DurationSeconds, else 3600)')
    p.add_argument('--verbose', action='store_true')
    args = p.parse_args()
    if not args.sts_regions:
        args.sts_regions = sorted({args.region, 'us-east-1'})
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)  # type: ignore[attr-defined]
    print('aws-standin listening on http://%s:%d (region %s, service %s, upstream %s)'
          % (args.host, args.port, args.region, args.service, args.upstream), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
