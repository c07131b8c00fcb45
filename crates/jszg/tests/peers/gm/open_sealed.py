"""GM-6 peer: PyPI `cryptography` (OpenSSL's SM4 and SM3, not RustCrypto) reads what jszg
stored. For the account whose document number is given, it opens `accounts.doc_number_enc`
(SM4-GCM, API.md's envelope and associated data) and recomputes `accounts.doc_hash`
(HMAC-SM3, API.md's lookup construction) from the key file alone.

    python3 open_sealed.py DB KEYS DOC_NUMBER [--label LABEL] [--index-key BASE64]

Prints one JSON line: rows read, rows opened, whether the number was found and whether its
stored lookup hash equals the recomputed one. --label and --index-key change what the peer
uses, so the test can prove that a wrong associated data or key fails.
"""
import base64
import json
import sqlite3
import struct
import sys
import tomllib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def sm4_gcm_open(key, envelope, label):
    kid, nonce = envelope[:4], envelope[4:16]
    body, tag = envelope[16:-16], envelope[-16:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(kid + label)
    return dec.update(body) + dec.finalize()


def lookup(index_key, label, value):
    mac = hmac.HMAC(index_key, hashes.SM3())
    for part in (label, value):
        mac.update(struct.pack(">Q", len(part)))
        mac.update(part)
    return mac.finalize()


def main():
    args = sys.argv[1:]
    db, keys_path, doc = args[0], args[1], args[2]
    label = b"doc_number"
    with open(keys_path, "rb") as f:
        keys = tomllib.load(f)
    index_key = base64.b64decode(keys["index_key"])
    if "--label" in args:
        label = args[args.index("--label") + 1].encode()
    if "--index-key" in args:
        index_key = base64.b64decode(args[args.index("--index-key") + 1])
    assert keys.get("suite") == "gm", "the key file is not gm"
    data_keys = {}
    for kid, value in keys["data_keys"].items():
        if isinstance(value, dict) and value.get("alg") == "sm4-gcm":
            data_keys[int(kid)] = base64.b64decode(value["key"])
    rows = sqlite3.connect(db).execute("SELECT doc_number_enc, doc_hash FROM accounts").fetchall()
    opened, found, lookup_ok = 0, False, False
    for enc, stored_hash in rows:
        key = data_keys.get(struct.unpack(">I", enc[:4])[0])
        if key is None:
            continue
        try:
            plain = sm4_gcm_open(key, enc, label)
        except InvalidTag:
            continue
        opened += 1
        if plain.decode() == doc:
            found = True
            lookup_ok = lookup(index_key, b"doc_number", plain) == stored_hash
    print(json.dumps({"rows": len(rows), "opened": opened, "found": found, "lookup_matches": lookup_ok}))


main()
