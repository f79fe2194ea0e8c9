#!/bin/sh
# Sign a revision for cdagent's :bundle_signing_public_keys: (detached signature object).
#
#   usage: sign-revision.sh <bundle.zip> <private-key.pem>     writes <bundle.zip>.sig
#
# Upload both, the signature next to the bundle with ".sig" appended to the key:
#   aws s3 cp bundle.zip     s3://<bucket>/<key>
#   aws s3 cp bundle.zip.sig s3://<bucket>/<key>.sig
# Make a key pair once and put the PUBLIC key on the hosts (the private key stays in CI secrets):
#   openssl genpkey -algorithm ed25519 -out signing.key                 (or, ECDSA P-256:
#   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing.key)
#   openssl pkey -in signing.key -pubout -out signing.pub.pem
set -eu
bundle=$1
key=$2
if openssl pkey -in "$key" -noout -text 2>/dev/null | head -1 | grep -qi ed25519; then
    # Ed25519 signs the bytes themselves (-rawin; OpenSSL 3)
    openssl pkeyutl -sign -rawin -inkey "$key" -in "$bundle" -out "$bundle.sig"
else
    # ECDSA over the SHA-256 of the bytes, DER-encoded
    openssl dgst -sha256 -sign "$key" -out "$bundle.sig" "$bundle"
fi
echo "signed $bundle -> $bundle.sig"
