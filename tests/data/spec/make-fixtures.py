#!/usr/bin/env python3
"""Regenerate the deployment-specification envelope fixtures of tests/unit/test_spec.c.

Everything is made with the openssl command line (a throwaway CA and signer, valid 100 years);
the only thing done in Python is flipping single bytes of DER to make tampered copies.
Run from anywhere:  python3 tests/data/spec/make-fixtures.py
Outputs (all committed):
  content.json        the signed document (the S3 example of spec Appendix A)
  ca.pem signer.pem   throwaway CA and the signer it issued (keys are not kept)
  good.pem            PKCS7 SignedData, PEM armour, content embedded (smime -sign -nodetach)
  good.der good.b64   the same as raw DER and as bare base64 without armour (R-080)
  selfsigned.pem      signed by a self-signed certificate: accepted, chain not validated (R-081)
  ec.pem              signed with an EC P-256 key
  tampered.pem        one byte of the embedded content changed (digest mismatch)
  badsig.pem          one byte of the RSA signature changed
  nosigners.pem       a SignedData with a certificate but no signer (crl2pkcs7)
  detached.pem        a detached signature: no embedded content
  nocerts.pem         signer certificate not embedded (-nocerts)
  garbage.pem         PKCS7 armour around junk
"""
import base64
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

CONTENT = (
    '{"DeploymentId":"d-ABCDEF123","DeploymentGroupId":"b1a2189b-dd90-4ef5-8f40-4c1c5EXAMPLE",'
    '"DeploymentGroupName":"WordPress_DepGroup","ApplicationName":"WordPress_App",'
    '"DeploymentCreator":"user","DeploymentType":"IN_PLACE",'
    '"AgentActionOverrides":{"AgentOverrides":{"FileExistsBehavior":"OVERWRITE"}},'
    '"Revision":{"RevisionType":"S3","S3Revision":{"Bucket":"my-bucket","Key":"app.zip",'
    '"BundleType":"zip","Version":"3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",'
    '"ETag":"b10a8db164e0754105b7a99be72e3fe5-4"}}}')


def ossl(*args, **kw):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kw)


def pem_to_der(pem):
    lines = [l for l in pem.decode().splitlines() if l and not l.startswith("-----")]
    return base64.b64decode("".join(lines))


def der_to_pem(der):
    b = base64.encodebytes(der).decode()
    return ("-----BEGIN PKCS7-----\n" + b + "-----END PKCS7-----\n").encode()


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def sign(tmp, cert, key, *extra):
    out = os.path.join(tmp, "out.pem")
    ossl("smime", "-sign", "-binary", "-in", os.path.join(HERE, "content.json"), "-signer", cert,
         "-inkey", key, "-outform", "PEM", "-out", out, *extra)
    with open(out, "rb") as f:
        return f.read()


def main():
    write("content.json", CONTENT.encode())
    with tempfile.TemporaryDirectory() as tmp:
        t = lambda n: os.path.join(tmp, n)  # noqa: E731
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", t("ca.key"), "-out",
             t("ca.pem"), "-days", "36500", "-subj", "/CN=cdagent test deployment CA")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", t("signer.key"), "-out",
             t("signer.csr"), "-subj", "/CN=cdagent test deployment signer")
        ossl("x509", "-req", "-in", t("signer.csr"), "-CA", t("ca.pem"), "-CAkey", t("ca.key"),
             "-CAcreateserial", "-out", t("signer.pem"), "-days", "36500")
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", t("self.key"), "-out",
             t("self.pem"), "-days", "36500", "-subj", "/CN=cdagent self-signed signer")
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", t("ec.key"), "-out", t("ec.pem"), "-days", "36500", "-subj",
             "/CN=cdagent EC signer")
        for n in ("ca.pem", "signer.pem"):
            with open(t(n), "rb") as f:
                write(n, f.read())

        good = sign(tmp, t("signer.pem"), t("signer.key"), "-nodetach", "-certfile", t("ca.pem"))
        write("good.pem", good)
        der = pem_to_der(good)
        write("good.der", der)
        write("good.b64", base64.encodebytes(der))
        write("selfsigned.pem", sign(tmp, t("self.pem"), t("self.key"), "-nodetach"))
        write("ec.pem", sign(tmp, t("ec.pem"), t("ec.key"), "-nodetach"))

        at = der.find(b"d-ABCDEF123")
        assert at > 0
        tampered = bytearray(der)
        tampered[at + 2] = ord("X")  # d-XBCDEF123
        write("tampered.pem", der_to_pem(bytes(tampered)))
        badsig = bytearray(der)
        badsig[-1] ^= 0x01  # the last byte of the DER is the last byte of the signature
        write("badsig.pem", der_to_pem(bytes(badsig)))

        ossl("crl2pkcs7", "-nocrl", "-certfile", t("signer.pem"), "-out", t("nosig.pem"))
        with open(t("nosig.pem"), "rb") as f:
            write("nosigners.pem", f.read())
        write("detached.pem", sign(tmp, t("signer.pem"), t("signer.key")))
        write("nocerts.pem", sign(tmp, t("signer.pem"), t("signer.key"), "-nodetach", "-nocerts"))
        write("garbage.pem", b"-----BEGIN PKCS7-----\nTm90IGEgc2lnbmVkIG1lc3NhZ2UK\n"
              b"-----END PKCS7-----\n")


if __name__ == "__main__":
    main()
