#!/usr/bin/env python3
# Deterministic benchmark payload: a made-up product tree (see benches/README.md).
#
#   python3 benches/gen-payload.py OUT SEED MIN_TOTAL
#
# Writes the tree under OUT (created; its parent must exist) and prints
# "files=N bytes=N dirs=N". The same SEED and MIN_TOTAL give byte-identical trees. About 2,720
# small and medium files come first; large files of 1-8 MiB are then added (at least 8) until
# the total reaches MIN_TOTAL bytes. Used by install-bench.sh and pack-bench.sh, which cache
# the tree under a key made from this file's contents, the seed and the size.
import os, random, sys

# Deterministic payload: the same seed and parameters give byte-identical trees.
out, seed, min_total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
KiB, MiB = 1024, 1024 * 1024

# --- text-like content: lines of code, config and prose from a made-up vocabulary -----
syll = ["ka", "sp", "er", "sky", "net", "scan", "ver", "lo", "mi", "tra", "con", "fig",
        "up", "date", "sig", "base", "core", "ui", "el", "an", "ro", "de", "pol", "ix"]
words = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(3000)})
kw = ["fn", "let", "if", "else", "return", "for", "in", "match", "struct", "impl", "pub",
      "const", "true", "false", "None", "self", "while", "import", "def", "class"]

def text_line():
    r = rng.random()
    if r < 0.35:   # code
        ind = "    " * rng.randint(0, 3)
        toks = [rng.choice(kw if rng.random() < 0.3 else words) for _ in range(rng.randint(2, 9))]
        return ind + " ".join(toks) + rng.choice([";", " {", "}", ":", ",", ")"])
    if r < 0.6:    # config / key = value
        return "%s.%s = %s" % (rng.choice(words), rng.choice(words),
                               rng.choice([str(rng.randint(0, 99999)), '"%s"' % rng.choice(words),
                                           rng.choice(["true", "false"])]))
    if r < 0.75:   # log-ish line with numbers (less compressible)
        return "2024-%02d-%02dT%02d:%02d:%02d.%03dZ %s [%s] %s %08x" % (
            rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
            rng.randint(0, 59), rng.randint(0, 999), rng.choice(["INFO", "WARN", "DEBUG"]),
            rng.choice(words), " ".join(rng.choice(words) for _ in range(rng.randint(3, 8))),
            rng.getrandbits(32))
    if r < 0.8:
        return ""
    sentence = " ".join(rng.choice(words) for _ in range(rng.randint(5, 16)))
    return sentence.capitalize() + "."

pool_parts, pool_len = [], 0
while pool_len < 6 * MiB:
    line = text_line() + "\n"
    pool_parts.append(line)
    pool_len += len(line)
text_pool = "".join(pool_parts).encode()

def text_bytes(n):
    # A slice of the pool at a random offset (wrapping), so files differ from each other.
    off = rng.randrange(len(text_pool))
    buf = bytearray()
    while len(buf) < n:
        take = min(n - len(buf), len(text_pool) - off)
        buf += text_pool[off:off + take]
        off = 0
    return bytes(buf)

def random_bytes(n):   # already-compressed data: images, archives, packed resources
    return rng.randbytes(n)

def binary_bytes(n):   # executable-like: code (random), tables (patterned), zero padding, strings
    buf = bytearray()
    while len(buf) < n:
        blk = min(4 * KiB, n - len(buf))
        r = rng.random()
        if r < 0.5:
            buf += rng.randbytes(blk)
        elif r < 0.7:
            pat = rng.randbytes(rng.choice([4, 8, 16, 32]))
            buf += (pat * (blk // len(pat) + 1))[:blk]
        elif r < 0.85:
            buf += bytes(blk)
        else:
            buf += text_bytes(blk)
    return bytes(buf)

KINDS = {
    "text":   (text_bytes,   [".txt", ".json", ".xml", ".ini", ".py", ".js", ".css", ".html", ".md", ".toml"]),
    "binary": (binary_bytes, [".so", ".dll", ".bin", ".dat", ".mo", ".exe"]),
    "random": (random_bytes, [".png", ".jpg", ".pak", ".gz", ".zip", ".bdb"]),
}

# --- folders: a product-like nested layout, depth 1..5 (no "etc": the installer owns it) --
tops = ["bin", "lib", "share", "plugins", "data", "resources", "modules", "locale", "doc"]
dirs = list(tops)
while len(dirs) < 240:
    parent = rng.choice(dirs)
    if parent.count("/") >= 4:
        continue
    dirs.append(parent + "/" + rng.choice(words)[:12] + "_" + str(rng.randint(0, 99)))
dirs = sorted(set(dirs))

used = set()
def new_path(ext):
    while True:
        p = "%s/%s%s" % (rng.choice(dirs), rng.choice(words)[:16] + "-" + str(rng.randint(0, 9999)), ext)
        if p not in used:
            used.add(p)
            return p

def loguniform(lo, hi):
    import math
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))

def pick_kind(weights):
    r, acc = rng.random(), 0.0
    for k, w in weights:
        acc += w
        if r < acc:
            return k
    return weights[-1][0]

specs = []   # (size, kind)
for _ in range(2600):   # many small files, 1..64 KiB, log-uniform (most are a few KiB)
    specs.append((loguniform(1 * KiB, 64 * KiB), pick_kind([("text", .6), ("binary", .25), ("random", .15)])))
for _ in range(120):    # some medium files, 64 KiB..1 MiB
    specs.append((loguniform(64 * KiB, 1 * MiB), pick_kind([("text", .4), ("binary", .4), ("random", .2)])))
total = sum(s for s, _ in specs)
n_large = 0
while total < min_total or n_large < 8:   # some large files, 1..8 MiB, until the total is reached
    size = rng.randint(1 * MiB, 8 * MiB)
    specs.append((size, pick_kind([("binary", .5), ("random", .5)])))
    total += size
    n_large += 1

FIXED_MTIME = 1_700_000_000
for d in dirs:
    os.makedirs(os.path.join(out, d), exist_ok=True)
for size, kind in specs:
    gen, exts = KINDS[kind]
    rel = new_path(rng.choice(exts))
    path = os.path.join(out, rel)
    with open(path, "wb") as f:
        f.write(gen(size))
    mode = 0o755 if (rel.startswith("bin/") or rel.endswith((".so", ".exe"))) else 0o644
    os.chmod(path, mode)
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))

for d in sorted(dirs, reverse=True) + [""]:   # folders last: writing files changes their mtime
    os.utime(os.path.join(out, d), (FIXED_MTIME, FIXED_MTIME))

print("files=%d bytes=%d dirs=%d" % (len(specs), total, len(dirs)))
