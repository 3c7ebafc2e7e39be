#!/usr/bin/python3
"""A token endpoint for private_key_jwt (RFC 7523 section 2.2), checking client assertions
with an implementation independent of the agent's: PyJWT (Debian python3-jwt 2.6) over
python3-cryptography, with the PUBLIC keys only. Run with /usr/bin/python3 (that is where
Debian's packages are); it prints "listening <port>" and serves until stdin closes.

  POST /token          the client-credentials grant; 200 with a token, or 401 invalid_client
  GET  /resource       200 when the Bearer token is one this endpoint issued and not revoked
  POST /_control       JSON: client_id, public_keys (PEM list), alg, kid, certificate (PEM,
                       whose x5t / x5t#S256 the header must carry); also revoke: true
  GET  /_control/log   JSON list: one entry per token request (ok, reason, header, claims)
"""
import base64
import hashlib
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME_S = 300

lock = threading.Lock()
state = {"config": {}, "keys": [], "seen_jti": set(), "tokens": set(), "log": []}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Refused(Exception):
    pass


def check_form(form, headers):
    if form.get("grant_type") != "client_credentials":
        raise Refused("grant_type is not client_credentials")
    if "client_secret" in form:
        raise Refused("a client_secret was sent")
    if headers.get("Authorization") is not None:
        raise Refused("an Authorization header was sent")
    if form.get("client_assertion_type") != JWT_BEARER:
        raise Refused("client_assertion_type is %r" % form.get("client_assertion_type"))
    cfg = state["config"]
    if form.get("client_id") != cfg["client_id"]:
        raise Refused("client_id is %r" % form.get("client_id"))
    if not form.get("client_assertion"):
        raise Refused("no client_assertion")
    return form["client_assertion"]


def check_header(header):
    cfg = state["config"]
    if header.get("alg") != cfg["alg"]:
        raise Refused("alg is %r, not %r" % (header.get("alg"), cfg["alg"]))
    if cfg.get("kid") is not None and header.get("kid") != cfg["kid"]:
        raise Refused("kid is %r" % header.get("kid"))
    cert = cfg.get("certificate")
    if cert is not None:
        der = x509.load_pem_x509_certificate(cert.encode()).public_bytes(serialization.Encoding.DER)
        if header.get("x5t") != b64url(hashlib.sha1(der).digest()):
            raise Refused("x5t is %r" % header.get("x5t"))
        if header.get("x5t#S256") != b64url(hashlib.sha256(der).digest()):
            raise Refused("x5t#S256 is %r" % header.get("x5t#S256"))


def verify(assertion, token_url):
    cfg = state["config"]
    header = jwt.get_unverified_header(assertion)
    check_header(header)
    claims, last = None, "no public key configured"
    for key in state["keys"]:
        try:
            claims = jwt.decode(
                assertion,
                key=key,
                algorithms=[cfg["alg"]],
                audience=token_url,
                issuer=cfg["client_id"],
                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
            )
            break
        except jwt.InvalidSignatureError as e:
            last = "signature: %s" % e
        except jwt.PyJWTError as e:
            raise Refused("%s: %s" % (type(e).__name__, e))
    if claims is None:
        raise Refused(last)
    if claims["sub"] != cfg["client_id"]:
        raise Refused("sub is %r" % claims["sub"])
    if claims["exp"] - time.time() > MAX_LIFETIME_S:
        raise Refused("exp is more than %d s ahead" % MAX_LIFETIME_S)
    if claims["jti"] in state["seen_jti"]:
        raise Refused("replay: jti %s was used before" % claims["jti"])
    state["seen_jti"].add(claims["jti"])
    return header, claims


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()

    def do_GET(self):
        with lock:
            if self.path == "/_control/log":
                return self.answer(200, state["log"])
            auth = self.headers.get("Authorization") or ""
            ok = auth.startswith("Bearer ") and auth[7:] in state["tokens"]
            return self.answer(200, {}) if ok else self.answer(401, {"error": "invalid_token"})

    def do_POST(self):
        raw = self.body()
        with lock:
            if self.path == "/_control":
                return self.control(json.loads(raw))
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            entry = {"ok": False, "form": form}
            try:
                token_url = "http://%s:%d%s" % (self.server.server_address[0], self.server.server_address[1], self.path)
                entry["header"], entry["claims"] = verify(check_form(form, self.headers), token_url)
            except (Refused, jwt.PyJWTError, ValueError) as e:
                entry["reason"] = str(e)
                state["log"].append(entry)
                return self.answer(401, {"error": "invalid_client", "error_description": str(e)})
            entry["ok"] = True
            state["log"].append(entry)
            token = "jwt-issued-" + uuid.uuid4().hex
            state["tokens"].add(token)
            return self.answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def control(self, c):
        if c.get("revoke"):
            state["tokens"].clear()
        if "client_id" in c:
            state["config"] = c
            state["keys"] = [serialization.load_pem_public_key(k.encode()) for k in c["public_keys"]]
        return self.answer(200, {})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("listening %d" % server.server_address[1], flush=True)
    sys.stdin.read()  # the test closes stdin (or dies): then stop
    server.shutdown()


if __name__ == "__main__":
    main()
