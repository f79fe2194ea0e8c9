"""Throwaway certificates for the fakes: a test CA, deployment-spec signers, TLS server certs,
and PKCS#7 signing of deployment specifications (spec R-080/R-081).

Nothing here is secret or long-lived: keys are generated in memory per process (or per call)
and written only to a test's scratch directory.

    import certs
    ca = certs.make_ca()
    signer = certs.make_leaf(ca, "deployment signer")
    pem = certs.sign_pkcs7(b'{"DeploymentId": ...}', signer, extra=[ca])   # "-----BEGIN PKCS7-----"
    ca_path, cert_path, key_path = certs.tls_files(dir)                     # 127.0.0.1 + localhost
"""
import base64
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class CertKey:
    """A certificate with its private key."""

    def __init__(self, cert, key):
        self.cert = cert
        self.key = key

    def cert_pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def write(self, directory, name):
        """Write <name>.pem and <name>.key (0600) into directory; return both paths."""
        os.makedirs(directory, exist_ok=True)
        cp = os.path.join(directory, name + ".pem")
        kp = os.path.join(directory, name + ".key")
        with open(cp, "wb") as f:
            f.write(self.cert_pem())
        fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key_pem())
        return cp, kp


def _key(kind):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cdagent tests")])


def _builder(subject, issuer, pub, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days)))


def make_ca(cn="cdagent test CA", kind="rsa", days=3650):
    key = _key(kind)
    name = _name(cn)
    b = _builder(name, name, key.public_key(), days)
    b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                                      encipher_only=False, decipher_only=False), critical=True)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return CertKey(b.sign(key, hashes.SHA256()), key)


def make_leaf(ca, cn, kind="rsa", days=3650, dns=(), ips=(), server=False):
    """A certificate issued by ca.  server=True adds serverAuth and the given SANs."""
    key = _key(kind)
    b = _builder(_name(cn), ca.cert.subject, key.public_key(), days)
    b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if server:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return CertKey(b.sign(ca.key, hashes.SHA256()), key)


def self_signed(cn="cdagent self-signed signer", kind="rsa"):
    key = _key(kind)
    name = _name(cn)
    return CertKey(_builder(name, name, key.public_key(), 3650).sign(key, hashes.SHA256()), key)


def sign_pkcs7(data, signer, extra=(), encoding="pem"):
    """PKCS#7 SignedData over data with the content embedded and signer's certificate (plus
    extra certificates) included, like the service's deployment specifications.
    encoding: "pem" (-----BEGIN PKCS7-----), "der" (bytes) or "base64" (bare base64 of DER)."""
    b = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(signer.cert, signer.key,
                                                                hashes.SHA256())
    for c in extra:
        b = b.add_certificate(c.cert)
    der = b.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    return encode_der(der, encoding)


def encode_der(der, encoding):
    if encoding == "der":
        return der
    if encoding == "base64":
        return base64.encodebytes(der)
    return b"-----BEGIN PKCS7-----\n" + base64.encodebytes(der) + b"-----END PKCS7-----\n"


def pem_to_der(pem):
    lines = [ln for ln in pem.decode().splitlines() if ln and not ln.startswith("-----")]
    return base64.b64decode("".join(lines))


def tamper_content(der, data):
    """A copy of a SignedData DER whose embedded content has one character changed."""
    at = der.find(data)
    if at < 0:
        raise ValueError("content not found in the DER")
    i = at + len(data) // 2
    b = bytearray(der)
    b[i] = ord("X") if b[i] != ord("X") else ord("Y")
    return bytes(b)


def break_signature(der):
    """A copy of a SignedData DER with the last byte (the end of the last signature) flipped."""
    b = bytearray(der)
    b[-1] ^= 0x01
    return bytes(b)


def certs_only_pkcs7(certs, encoding="pem"):
    """A SignedData that carries certificates but no signer and no content ("unsigned")."""
    der = pkcs7.serialize_certificates([c.cert for c in certs], serialization.Encoding.DER)
    return encode_der(der, encoding)


def tls_files(directory, ca=None, hosts=("localhost",), ips=("127.0.0.1", "::1")):
    """Write a CA and a server certificate for 127.0.0.1/localhost; return (ca, cert, key)."""
    ca = ca or make_ca("cdagent test TLS CA", kind="ec")
    srv = make_leaf(ca, "127.0.0.1", kind="ec", dns=hosts, ips=ips, server=True)
    ca_path, _ = ca.write(directory, "tls-ca")
    cert_path, key_path = srv.write(directory, "tls-server")
    return ca_path, cert_path, key_path
