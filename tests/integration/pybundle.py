"""pybundle: a stand-alone maker and reader of EC2 "instance-store" AMI bundles.

The test suite uses it to show that amibox accepts bundles made by something
other than amibox (and that amibox's bundles can be read back by a second
implementation).  It was written from the format description in the project's
wire digest only, independently of amibox's own C code.  Python 3 stdlib plus
the `openssl` command-line tool (RSA and AES); nothing else.

Bundle pipeline: image -> tar (one member named PREFIX) -> SHA-1 of the tar
stream (the image digest) -> gzip -9 -> AES-128-CBC (random key and IV, PKCS#7
padding, no salt header) -> parts of --part-size bytes -> PREFIX.manifest.xml
(version 2007-10-10).  Key and IV are 32-char lowercase hex strings; that ASCII
text is RSA/PKCS#1 v1.5 encrypted for the user's and the cloud's certificates.
The signature is RSA-SHA1 by the user's key over the raw bytes of the first
<machine_configuration>...</machine_configuration> (empty if absent) followed
by the raw bytes of <image>...</image>, exactly as they stand in the file.

Command line:
  pybundle.py bundle --image F --prefix P --cert C --privatekey K --user ACCT
                     --ec2cert EC2C --destination DIR [options]   (prints manifest)
  pybundle.py unbundle --manifest M --privatekey K [--cert C] --source DIR
                       --destination DIR                 (prints extracted file)
  pybundle.py make-cert --out-key K --out-cert C [--cn NAME]
Importable: bundle(), unbundle(), make_cert(), decrypt_manifest_keys(),
signed_bytes(), BundleError.
"""
import argparse
import gzip
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

DEFAULT_PART_SIZE = 10485760
MANIFEST_VERSION = "2007-10-10"
BUNDLER = ("pybundle", "1.0", "1")
DEFAULT_BDM = [("ami", "sda1"), ("root", "/dev/sda1")]
TAR_FORMATS = {"gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT,
               "ustar": tarfile.USTAR_FORMAT}
CHUNK = 1 << 20


class BundleError(Exception):
    """Any failure to make or check a bundle (bad input, digest mismatch...)."""


# ---------------------------------------------------------------- openssl ---

def _openssl(args, data=None):
    """Run `openssl ARGS`, feeding DATA on stdin; return stdout bytes."""
    proc = subprocess.run(["openssl"] + args, input=data, capture_output=True)
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").split("\n")
        raise BundleError("openssl %s failed: %s"
                          % (args[0], "; ".join(x.strip() for x in lines if x.strip())))
    return proc.stdout


def _rsa_encrypt_for_cert(cert, text):
    return _openssl(["pkeyutl", "-encrypt", "-certin", "-inkey", cert,
                     "-pkeyopt", "rsa_padding_mode:pkcs1"], text)


def _rsa_decrypt(key, blob):
    return _openssl(["pkeyutl", "-decrypt", "-inkey", key,
                     "-pkeyopt", "rsa_padding_mode:pkcs1"], blob)


def _aes(mode, key_hex, iv_hex, src, dst):
    _openssl(["enc", mode, "-aes-128-cbc", "-K", key_hex, "-iv", iv_hex,
              "-in", src, "-out", dst])


def make_cert(out_key, out_cert, cn="pybundle"):
    """Create an RSA-2048 key and a self-signed X.509 certificate (PEM)."""
    _openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
              "-subj", "/CN=" + cn, "-keyout", out_key, "-out", out_cert])
    return out_key, out_cert


def _sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- signing ---

def _slice(raw, start, end):
    i = raw.find(start)
    if i < 0:
        return b""
    j = raw.find(end, i)
    if j < 0:
        raise BundleError("manifest has %s without %s" % (start.decode(), end.decode()))
    return raw[i:j + len(end)]


def signed_bytes(manifest_raw):
    """The exact bytes the signature covers, taken from a manifest's raw bytes."""
    image = _slice(manifest_raw, b"<image>", b"</image>")
    if not image:
        raise BundleError("manifest has no <image> element")
    return _slice(manifest_raw, b"<machine_configuration>",
                  b"</machine_configuration>") + image


def _sign(key, data):
    return _openssl(["dgst", "-sha1", "-sign", key], data).hex()


def _verify(cert, data, sig_hex, work):
    pub = os.path.join(work, "pub.pem")
    sig = os.path.join(work, "sig.bin")
    with open(pub, "wb") as f:
        f.write(_openssl(["x509", "-in", cert, "-pubkey", "-noout"]))
    try:
        sig_bytes = bytes.fromhex(sig_hex)
    except ValueError:
        raise BundleError("manifest <signature> is not hex") from None
    with open(sig, "wb") as f:
        f.write(sig_bytes)
    proc = subprocess.run(["openssl", "dgst", "-sha1", "-verify", pub, "-signature", sig],
                          input=data, capture_output=True)
    if proc.returncode != 0:
        raise BundleError("manifest signature does not verify with " + cert)


# --------------------------------------------------------------- manifest ---

def _parse_bdm(spec):
    """'ami=sda1,root=/dev/sda1,ephemeral0=sdb' merged onto the default pair."""
    pairs = list(DEFAULT_BDM)
    for item in filter(None, (spec or "").split(",")):
        virtual, sep, device = item.strip().partition("=")
        if not sep or not virtual or not device:
            raise BundleError("bad block device mapping entry %r" % item)
        pairs = [p for p in pairs if p[0] != virtual] + [(virtual, device)]
    return pairs


def _el(tag, text, attrs=""):
    return "<%s%s>%s</%s>" % (tag, attrs, escape(str(text)), tag)


def _machine_configuration(sep, arch, bdm, kernel, ramdisk, spelling):
    if spelling == "euca":
        maps = "".join("<block_device_mapping>%s%s</block_device_mapping>"
                       % (_el("virtual", v), _el("device", d)) for v, d in bdm)
        bdm_xml = "<block_device_mappings>%s</block_device_mappings>" % maps
    else:
        maps = "".join("<mapping>%s%s</mapping>"
                       % (_el("virtual", v), _el("device", d)) for v, d in bdm)
        bdm_xml = "<block_device_mapping>%s</block_device_mapping>" % maps
    kids = [_el("architecture", arch), bdm_xml]
    if kernel:
        kids.append(_el("kernel_id", kernel))
    if ramdisk:
        kids.append(_el("ramdisk_id", ramdisk))
    return "<machine_configuration>%s%s%s</machine_configuration>" % (
        sep, sep.join(kids), sep[:-2])


def _image_element(f, order, sep):
    key_alg = ' algorithm="AES-128-CBC"'
    name = _el("name", f["prefix"])
    user = _el("user", f["user"])
    typ = _el("type", f["type"])
    digest = _el("digest", f["digest"], ' algorithm="SHA1"')
    sizes = [_el("size", f["size"]), _el("bundled_size", f["bundled_size"])]
    keys = [_el("ec2_encrypted_key", f["ec2_key"], key_alg),
            _el("user_encrypted_key", f["user_key"], key_alg),
            _el("ec2_encrypted_iv", f["ec2_iv"]),
            _el("user_encrypted_iv", f["user_iv"])]
    inner = sep + "  " if sep else ""
    parts = "".join('%s<part index="%d">%s%s</part>'
                    % (inner, i, _el("filename", fn), _el("digest", d, ' algorithm="SHA1"'))
                    for i, (fn, d) in enumerate(f["parts"]))
    parts = '<parts count="%d">%s%s</parts>' % (len(f["parts"]), parts, sep)
    if order == "b":
        kids = [user, typ, name, parts, sizes[1], digest] + keys[::-1] + [sizes[0]]
    else:
        kids = [name, user, typ, digest] + sizes + keys + [parts]
    return "<image>%s%s%s</image>" % (sep, sep.join(kids), sep[:-2])


def _manifest_text(fields, mc, order):
    """Assemble the manifest as (text before <signature>, text after it)."""
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest>'
            + _el("version", MANIFEST_VERSION)
            + "<bundler>%s%s%s</bundler>" % tuple(
                _el(t, v) for t, v in zip(("name", "version", "release"), BUNDLER)))
    if order == "b":
        # Pretty layout: newlines and indentation between (almost) all elements.
        sep = "\n    "
        body = ["\n  " + _image_element(fields, "b", sep)]
        if mc is not None:
            body.append("\n  " + _machine_configuration(sep, **mc))
        return head + "".join(body) + "\n  ", "\n</manifest>\n"
    body = ""
    if mc is not None:
        body += "\n " + _machine_configuration("", **mc)
    body += "\n " + _image_element(fields, "a", "")
    return head + body + "\n ", "</manifest>\n"


# ----------------------------------------------------------------- bundle ---

def _part_names(prefix, count, style):
    width = 2 if style == "euca" else len(str(count))
    return ["%s.part.%0*d" % (prefix, width, i) for i in range(count)]


def bundle(image, prefix, cert, privatekey, user, ec2cert, destination,
           arch="x86_64", kernel=None, ramdisk=None, image_type="machine",
           block_device_mapping=None, tar_format="gnu", part_name_style="ec2",
           trailing_empty_part=False, machine_configuration=True,
           bdm_spelling="mapping", element_order="a", part_size=DEFAULT_PART_SIZE):
    """Bundle IMAGE into DESTINATION; return the path of the manifest."""
    if tar_format not in TAR_FORMATS:
        raise BundleError("unknown tar format %r" % tar_format)
    if part_size <= 0:
        raise BundleError("part size must be positive")
    if not os.path.isfile(image):
        raise BundleError("image %s is not a regular file" % image)
    if not prefix or "/" in prefix or prefix in (".", ".."):
        raise BundleError("bad prefix %r" % prefix)
    os.makedirs(destination, exist_ok=True)
    key_hex, iv_hex = secrets.token_hex(16), secrets.token_hex(16)
    size = os.path.getsize(image)
    with tempfile.TemporaryDirectory(prefix=".pybundle-", dir=destination) as work:
        tar_path = os.path.join(work, "image.tar")
        info = tarfile.TarInfo(prefix)
        info.size, info.mode, info.uid, info.gid = size, 0o644, 0, 0
        info.uname = info.gname = "root"
        info.mtime = int(os.stat(image).st_mtime)
        if tar_format == "pax":   # force an extended header, as GNU tar --posix does
            info.pax_headers = {"mtime": "%d.0" % info.mtime}
        with tarfile.open(tar_path, "w", format=TAR_FORMATS[tar_format]) as tar, \
                open(image, "rb") as src:
            tar.addfile(info, src)
        digest = _sha1_file(tar_path)
        gz_path = os.path.join(work, "image.tar.gz")
        with open(tar_path, "rb") as src, open(gz_path, "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", compresslevel=9,
                              fileobj=raw, mtime=0) as gz:
            shutil.copyfileobj(src, gz, CHUNK)
        enc_path = os.path.join(work, "image.tar.gz.enc")
        _aes("-e", key_hex, iv_hex, gz_path, enc_path)
        enc_size = os.path.getsize(enc_path)
        count = max(1, -(-enc_size // part_size)) + (1 if trailing_empty_part else 0)
        names = _part_names(prefix, count, part_name_style)
        parts = []
        with open(enc_path, "rb") as enc:
            for name in names:
                data = enc.read(part_size)   # the trailing extra part reads b""
                with open(os.path.join(destination, name), "wb") as out:
                    out.write(data)
                parts.append((name, hashlib.sha1(data).hexdigest()))
    fields = {
        "prefix": prefix, "user": user, "type": image_type, "digest": digest,
        "size": size, "bundled_size": enc_size, "parts": parts,
        "ec2_key": _rsa_encrypt_for_cert(ec2cert, key_hex.encode()).hex(),
        "user_key": _rsa_encrypt_for_cert(cert, key_hex.encode()).hex(),
        "ec2_iv": _rsa_encrypt_for_cert(ec2cert, iv_hex.encode()).hex(),
        "user_iv": _rsa_encrypt_for_cert(cert, iv_hex.encode()).hex(),
    }
    mc = None
    if machine_configuration:
        mc = dict(arch=arch, bdm=_parse_bdm(block_device_mapping), kernel=kernel,
                  ramdisk=ramdisk, spelling=bdm_spelling)
    text, tail = _manifest_text(fields, mc, element_order)
    signature = _sign(privatekey, signed_bytes(text.encode("utf-8")))
    manifest = os.path.join(destination, prefix + ".manifest.xml")
    with open(manifest, "wb") as f:
        f.write((text + _el("signature", signature) + tail).encode("utf-8"))
    return manifest


# --------------------------------------------------------------- unbundle ---

def _text(parent, tag, where):
    el = parent.find(tag)
    if el is None or el.text is None:
        raise BundleError("manifest lacks <%s> in <%s>" % (tag, where))
    return el.text.strip()


def _read_manifest(manifest):
    with open(manifest, "rb") as f:
        raw = f.read()
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        raise BundleError("manifest is not well-formed XML: %s" % e) from None
    image = root.find("image")
    if root.tag != "manifest" or image is None:
        raise BundleError("not a bundle manifest (no <manifest><image>)")
    return raw, root, image


def _decrypt_hex(key, blob_hex, what):
    try:
        plain = _rsa_decrypt(key, bytes.fromhex(blob_hex))
    except ValueError:
        raise BundleError("%s is not hex" % what) from None
    except BundleError as e:
        raise BundleError("cannot decrypt %s with %s (%s)" % (what, key, e)) from None
    text = plain.decode("ascii", "replace").strip().lower()
    if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
        return text
    if len(plain) == 16:   # tolerate tools that encrypt the raw 16 bytes
        return plain.hex()
    raise BundleError("decrypted %s is not a 128-bit hex value" % what)


def decrypt_manifest_keys(manifest, privatekey, which="user"):
    """Return (key_hex, iv_hex) from the manifest; WHICH is 'user' or 'ec2'."""
    _, _, image = _read_manifest(manifest)
    return (_decrypt_hex(privatekey, _text(image, which + "_encrypted_key", "image"),
                         which + "_encrypted_key"),
            _decrypt_hex(privatekey, _text(image, which + "_encrypted_iv", "image"),
                         which + "_encrypted_iv"))


def unbundle(manifest, privatekey, source, destination, cert=None):
    """Check and unpack a bundle; return the path of the extracted image."""
    raw, root, image = _read_manifest(manifest)
    os.makedirs(destination, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pybundle-", dir=destination) as work:
        if cert:
            _verify(cert, signed_bytes(raw), _text(root, "signature", "manifest"), work)
        key_hex, iv_hex = decrypt_manifest_keys(manifest, privatekey, "user")
        parts_el = image.find("parts")
        if parts_el is None:
            raise BundleError("manifest lacks <parts>")
        parts = sorted(parts_el.findall("part"), key=lambda p: int(p.get("index", -1)))
        if [int(p.get("index")) for p in parts] != list(range(len(parts))):
            raise BundleError("part indexes are not 0..N-1")
        if parts_el.get("count") is not None and int(parts_el.get("count")) != len(parts):
            raise BundleError("parts count=%s but %d <part> elements"
                              % (parts_el.get("count"), len(parts)))
        enc_path = os.path.join(work, "image.enc")
        total = 0
        with open(enc_path, "wb") as enc:
            for p in parts:
                name = _text(p, "filename", "part")
                if os.path.basename(name) != name or name in (".", ".."):
                    raise BundleError("unsafe part filename %r" % name)
                path = os.path.join(source, name)
                if not os.path.isfile(path):
                    raise BundleError("missing part " + path)
                with open(path, "rb") as f:
                    data = f.read()
                if hashlib.sha1(data).hexdigest() != _text(p, "digest", "part").lower():
                    raise BundleError("SHA-1 mismatch in part " + name)
                enc.write(data)
                total += len(data)
        bundled = image.find("bundled_size")
        if bundled is not None and int(bundled.text) != total:
            raise BundleError("bundled_size %s but parts hold %d bytes"
                              % (bundled.text.strip(), total))
        gz_path = os.path.join(work, "image.tar.gz")
        try:
            _aes("-d", key_hex, iv_hex, enc_path, gz_path)
        except BundleError as e:
            raise BundleError("AES decryption failed: %s" % e) from None
        tar_path = os.path.join(work, "image.tar")
        h = hashlib.sha1()
        try:
            with gzip.open(gz_path, "rb") as gz, open(tar_path, "wb") as out:
                for block in iter(lambda: gz.read(CHUNK), b""):
                    h.update(block)
                    out.write(block)
        except (OSError, EOFError) as e:
            raise BundleError("gunzip failed: %s" % e) from None
        if h.hexdigest() != _text(image, "digest", "image").lower():
            raise BundleError("SHA-1 of the tar stream does not match <digest>")
        with tarfile.open(tar_path, "r:") as tar:
            members = tar.getmembers()
            if len(members) != 1 or not members[0].isfile():
                raise BundleError("tar must hold exactly one regular file, holds %s"
                                  % [m.name for m in members])
            name = os.path.basename(members[0].name.rstrip("/"))
            if name in ("", ".", ".."):
                raise BundleError("unsafe member name %r" % members[0].name)
            out_path = os.path.join(destination, name)
            with tar.extractfile(members[0]) as src, open(out_path, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
    size = image.find("size")
    if size is not None and int(size.text) != os.path.getsize(out_path):
        raise BundleError("extracted %d bytes but <size> says %s"
                          % (os.path.getsize(out_path), size.text.strip()))
    return out_path


# -------------------------------------------------------------------- CLI ---

def main(argv=None):
    ap = argparse.ArgumentParser(prog="pybundle.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bundle", help="make a bundle from an image file")
    for opt in ("--image", "--prefix", "--cert", "--privatekey", "--user",
                "--ec2cert", "--destination"):
        b.add_argument(opt, required=True)
    b.add_argument("--arch", default="x86_64")
    b.add_argument("--kernel")
    b.add_argument("--ramdisk")
    b.add_argument("--type", default="machine", choices=["machine", "kernel", "ramdisk"])
    b.add_argument("--block-device-mapping", help="e.g. ami=sda1,root=/dev/sda1,ephemeral0=sdb")
    b.add_argument("--tar-format", default="gnu", choices=sorted(TAR_FORMATS))
    b.add_argument("--part-name-style", default="ec2", choices=["ec2", "euca"])
    b.add_argument("--trailing-empty-part", action="store_true")
    b.add_argument("--no-machine-configuration", action="store_true")
    b.add_argument("--bdm-spelling", default="mapping", choices=["mapping", "euca"])
    b.add_argument("--element-order", default="a", choices=["a", "b"])
    b.add_argument("--part-size", type=int, default=DEFAULT_PART_SIZE)
    u = sub.add_parser("unbundle", help="check and unpack a bundle")
    for opt in ("--manifest", "--privatekey", "--source", "--destination"):
        u.add_argument(opt, required=True)
    u.add_argument("--cert", help="verify the manifest signature with this certificate")
    m = sub.add_parser("make-cert", help="make an RSA-2048 key and self-signed certificate")
    m.add_argument("--out-key", required=True)
    m.add_argument("--out-cert", required=True)
    m.add_argument("--cn", default="pybundle")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "bundle":
            print(bundle(a.image, a.prefix, a.cert, a.privatekey, a.user, a.ec2cert,
                         a.destination, arch=a.arch, kernel=a.kernel, ramdisk=a.ramdisk,
                         image_type=a.type, block_device_mapping=a.block_device_mapping,
                         tar_format=a.tar_format, part_name_style=a.part_name_style,
                         trailing_empty_part=a.trailing_empty_part,
                         machine_configuration=not a.no_machine_configuration,
                         bdm_spelling=a.bdm_spelling, element_order=a.element_order,
                         part_size=a.part_size))
        elif a.cmd == "unbundle":
            print(unbundle(a.manifest, a.privatekey, a.source, a.destination, cert=a.cert))
        else:
            make_cert(a.out_key, a.out_cert, a.cn)
    except (BundleError, OSError, tarfile.TarError, ValueError) as e:
        print("pybundle: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
