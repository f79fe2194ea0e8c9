"""Independent SigV4 verification for the fakes, using botocore's signer (spec R-050).

verify() rebuilds the received request as a botocore AWSRequest carrying exactly the headers the
client listed in SignedHeaders, recomputes the signature with botocore.auth.SigV4Auth at the
client's X-Amz-Date and compares.  It also enforces what the service enforces: a known access
key, the right credential scope (date, region, service), the session token, the signed-header
minimum of R-050, and a 5-minute clock window (the error messages are those AWS sends, so the
agent's skew handling of R-051 can be exercised).
"""
import datetime
import hashlib
import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,"
                     r"\s*SignedHeaders=([a-z0-9\-;]+),\s*Signature=([0-9a-f]{64})$")
AMZ_DATE = "%Y%m%dT%H%M%SZ"
MAX_SKEW = datetime.timedelta(minutes=5)


class SigError(Exception):
    """A rejection: status, AWS error code, message."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def verify(method, path, headers, body, creds, region, service, now, required=()):
    """Raise SigError unless the request is correctly signed.

    headers: dict of lower-case name -> value as received; body: bytes; creds: dict access key ->
    {"secret_key": ..., "session_token": ... or None}; now: the server's datetime (UTC, aware);
    required: header names that must be signed in addition to host and x-amz-date.
    Returns the access key id on success.
    """
    auth = headers.get("authorization")
    if not auth:
        raise SigError("MissingAuthenticationTokenException", "Missing Authentication Token")
    m = AUTH_RE.match(auth.strip())
    if not m:
        raise SigError("IncompleteSignatureException",
                       "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                       "parameters of the AWS4-HMAC-SHA256 algorithm: '%s'" % auth.split(" ")[0])
    akid, scope_date, scope_region, scope_service, signed, signature = m.groups()
    entry = creds.get(akid)
    if entry is None:
        raise SigError("UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    if scope_region != region:
        raise SigError("InvalidSignatureException",
                       "Credential should be scoped to a valid region, not '%s'." % scope_region)
    if scope_service != service:
        raise SigError("InvalidSignatureException",
                       "Credential should be scoped to correct service: '%s'." % service)
    amz_date = headers.get("x-amz-date")
    if not amz_date:
        raise SigError("IncompleteSignatureException", "Missing X-Amz-Date header")
    try:
        t = datetime.datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SigError("IncompleteSignatureException", "Invalid X-Amz-Date: '%s'" % amz_date)
    if amz_date[:8] != scope_date:
        raise SigError("InvalidSignatureException",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                       "date from HTTP: '%s' != '%s'" % (scope_date, amz_date[:8]))
    if t < now - MAX_SKEW:
        raise SigError("InvalidSignatureException",
                       "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                       % (amz_date, (now - MAX_SKEW).strftime(AMZ_DATE), now.strftime(AMZ_DATE)))
    if t > now + MAX_SKEW:
        raise SigError("InvalidSignatureException",
                       "Signature not yet current: %s is still later than %s (%s + 5 min.)"
                       % (amz_date, (now + MAX_SKEW).strftime(AMZ_DATE), now.strftime(AMZ_DATE)))
    names = signed.split(";")
    if names != sorted(names):
        raise SigError("InvalidSignatureException", "SignedHeaders are not sorted: '%s'" % signed)
    token = entry.get("session_token")
    sent_token = headers.get("x-amz-security-token")
    if token:
        if sent_token != token:
            raise SigError("UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        required = tuple(required) + ("x-amz-security-token",)
    elif sent_token:
        raise SigError("UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    for h in ("host", "x-amz-date") + tuple(required):
        if h not in names:
            raise SigError("InvalidSignatureException",
                           "Header '%s' must be signed (SignedHeaders=%s)" % (h, signed))
    for h in names:
        if h not in headers:
            raise SigError("InvalidSignatureException",
                           "Signed header '%s' is not in the request" % h)

    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        raise SigError("InvalidSignatureException",
                       "x-amz-content-sha256 does not match the body: '%s'" % declared)
    req = AWSRequest(method=method, url="http://%s%s" % (headers["host"], path), data=body,
                     headers={h: headers[h] for h in names})
    signer = SigV4Auth(Credentials(akid, entry["secret_key"], token), service, region)
    req.context["timestamp"] = amz_date
    canonical = signer.canonical_request(req)
    string_to_sign = signer.string_to_sign(req, canonical)
    expected = signer.signature(string_to_sign, req)
    if signer.signed_headers(signer.headers_to_sign(req)) != signed or \
            not hmac.compare_digest(expected, signature):
        raise SigError("InvalidSignatureException",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your AWS Secret Access Key and signing method. Consult the "
                       "service documentation for details.\n\nThe Canonical String for this request "
                       "should have been\n'%s'\n\nThe String-to-Sign should have been\n'%s'\n"
                       % (canonical, string_to_sign))
    return akid


def sign(method, url, headers, body, akid, secret, token, region, service, when=None):
    """Sign a request with botocore (for tests that need a correctly signed request from Python).
    Returns the headers dict to send (including Authorization, X-Amz-Date, token)."""
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = SigV4Auth(Credentials(akid, secret, token), service, region)
    if when is None:
        signer.add_auth(req)
    else:
        # add_auth always uses the current time; sign by hand at `when`.
        req.context["timestamp"] = when.strftime(AMZ_DATE)
        req.headers["X-Amz-Date"] = req.context["timestamp"]
        if token:
            req.headers["X-Amz-Security-Token"] = token
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        sig = signer.signature(sts, req)
        req.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, " \
            "Signature=%s" % (signer.scope(req), signer.signed_headers(
                signer.headers_to_sign(req)), sig)
    return dict(req.headers.items())
