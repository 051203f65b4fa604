#!/usr/bin/env python3
"""Writes the fuzz seed corpora (tests/fuzz/corpus/<harness>/) from the repo's
own files and from a tiny Marian checkpoint (d_model 8, one layer each side,
8 pieces) quantized by the normal build's qtool. Run from the repo root after
scripts/build.sh; docs/fuzzing.md. Deterministic: the same seeds every time."""
import json, os, random, shutil, struct, subprocess, sys, tempfile, zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
QTOOL = os.path.join(ROOT, "build", "qtool")
TINY = os.path.join(ROOT, "models", "ddtp-en-de-tiny")
rng = random.Random(7)


def put(harness, name, data):
    os.makedirs(os.path.join(CORPUS, harness), exist_ok=True)
    with open(os.path.join(CORPUS, harness, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tiny_tensors(d=8, ffn=16, vocab=8):
    t = {"final_logits_bias": [1, vocab], "model.shared.weight": [vocab, d]}
    for side in ("encoder", "decoder"):
        p = f"model.{side}.layers.0."
        attns = ["self_attn"] + (["encoder_attn"] if side == "decoder" else [])
        for a in attns:
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                t[p + f"{a}.{proj}.weight"] = [d, d]
                t[p + f"{a}.{proj}.bias"] = [d]
            t[p + f"{a}_layer_norm.weight"] = [d]
            t[p + f"{a}_layer_norm.bias"] = [d]
        t[p + "fc1.weight"], t[p + "fc1.bias"] = [ffn, d], [ffn]
        t[p + "fc2.weight"], t[p + "fc2.bias"] = [d, ffn], [d]
        t[p + "final_layer_norm.weight"], t[p + "final_layer_norm.bias"] = [d], [d]
    return t


def safetensors(shapes, dtype="F32"):
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, shape in shapes.items():
        n = 1
        for s in shape:
            n *= s
        if dtype == "F32":
            raw = struct.pack(f"<{n}f", *[rng.uniform(-0.5, 0.5) for _ in range(n)])
        elif dtype == "F16":
            raw = struct.pack(f"<{n}e", *[rng.uniform(-0.5, 0.5) for _ in range(n)])
        else:  # BF16: the top half of a float32
            raw = b"".join(struct.pack("<f", rng.uniform(-0.5, 0.5))[2:] for _ in range(n))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def tiny_config():
    c = json.loads(read(os.path.join(TINY, "config.json")))
    c.update(d_model=8, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
             encoder_ffn_dim=16, decoder_ffn_dim=16, vocab_size=8, decoder_vocab_size=8, max_position_embeddings=16)
    return c


PIECES = ["</s>", "<unk>", "<pad>", "\u2581Hallo", "\u2581Welt", "\u2581", "s", "."]


def tiny_checkpoint(dir):
    os.makedirs(dir)
    with open(os.path.join(dir, "config.json"), "w") as f:
        json.dump(tiny_config(), f, indent=1)
    for n in ("generation_config.json", "tokenizer_config.json", "source.spm", "target.spm"):
        shutil.copy(os.path.join(TINY, n), dir)
    with open(os.path.join(dir, "vocab.json"), "w") as f:
        json.dump({p: i for i, p in enumerate(PIECES)}, f, ensure_ascii=False)
    with open(os.path.join(dir, "model.safetensors"), "wb") as f:
        f.write(safetensors(tiny_tensors()))


def shrink_qtm(data):
    """The same .qtm with its SentencePiece sections cut to a few bytes (the
    loader keeps them as opaque text), re-laid out with fresh offsets and CRCs."""
    hlen = struct.unpack("<Q", data[16:24])[0]
    h = json.loads(data[24:24 + hlen])
    sections = []

    def walk(j):
        if isinstance(j, dict):
            if {"offset", "bytes", "crc32"} <= j.keys():
                sections.append(j)
            for v in j.values():
                walk(v)
        elif isinstance(j, list):
            for v in j:
                walk(v)
    walk(h)
    original = [(s["offset"], s["bytes"]) for s in sections]  # a joint vocabulary's two spm share one
    contents = [data[o:o + n] for o, n in original]
    for key in ("source_spm", "target_spm"):
        for i, s in enumerate(sections):
            if s is h["vocab"][key]:
                contents[i] = b"spm"
    for _ in range(3):  # offsets depend on the header's length, which depends on the offsets
        at, first = 24 + len(json.dumps(h).encode()), {}
        for i, s in enumerate(sections):
            if original[i] in first:
                off = sections[first[original[i]]]["offset"]
            else:
                first[original[i]] = i
                at += -at % 64
                off, at = at, at + len(contents[i])
            s["offset"], s["bytes"], s["crc32"] = off, len(contents[i]), zlib.crc32(contents[i])
    header = json.dumps(h).encode()
    assert 24 + len(header) <= min(s["offset"] for s in sections)
    out = bytearray(b"QTOOLQTM" + struct.pack("<IIQ", 1, 0, len(header)) + header)
    for i, s in sorted(enumerate(sections), key=lambda p: p[1]["offset"]):
        if len(out) <= s["offset"]:
            out += b"\0" * (s["offset"] - len(out)) + contents[i]
    return bytes(out)


def pb_varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([0x80 | (v & 0x7F)])
        v >>= 7
    return out + bytes([v])


def pb_number(field, v):
    return pb_varint(field << 3) + pb_varint(v)


def pb_bytes(field, b):
    b = b if isinstance(b, bytes) else b.encode()
    return pb_varint(field << 3 | 2) + pb_varint(len(b)) + b


def spm_piece(piece, score, kind=1):
    body = pb_bytes(1, piece) + pb_varint(2 << 3 | 5) + struct.pack("<f", score)
    return pb_bytes(1, body + (pb_number(3, kind) if kind != 1 else b""))


def spm_charsmap(rules):
    """A precompiled charsmap as SentencePiece stores it: a darts-clone double
    array (each node its own 256-unit block, children at base + byte, the value
    at base + 0; an unused unit's label never leads to it), then the
    NUL-terminated replacements."""
    units, strings, base_of = [i ^ 1 for i in range(256)], b"", {}

    def block():
        units.extend(i ^ 1 for i in range(256))
        return len(units) - 256

    base_of[b""] = block()
    units[0] = (0 ^ base_of[b""]) << 10
    for key in sorted(rules):
        for n in range(1, len(key) + 1):
            prefix = key[:n]
            if prefix not in base_of:
                base_of[prefix] = block()
            node = base_of[key[:n - 1]] + key[n - 1]
            units[node] = (node ^ base_of[prefix]) << 10 | (0x100 if prefix in rules else 0) | key[n - 1]
            if n == len(key):
                units[base_of[prefix]] = 0x80000000 | len(strings)
                strings += rules[key] + b"\0"
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + strings


def sentencepiece_seeds():
    """fuzz_sentencepiece: one byte n, n bytes of text, a serialized ModelProto."""
    pieces = spm_piece("<unk>", 0, 2) + spm_piece("<s>", 0, 3) + spm_piece("</s>", 0, 3)
    for i, p in enumerate(["\u2581", "a", "b", "x", "\u2581a", "ab", "\u2581ab", "ba", "Y", "Z"]):
        pieces += spm_piece(p, -1.0 - i / 2)
    cmap = spm_charsmap({b"ab": b"Y", b"abc": b"ZY", b"x": b"", b"\xef\xbc\xa1": b"a", b"\t": b" "})
    text = "ab abc\txx \uff21a".encode()

    def seed(name, model):
        put("fuzz_sentencepiece", name, bytes([len(text)]) + text + model)

    seed("unigram_charsmap", pieces + pb_bytes(3, pb_bytes(2, cmap)) + pb_bytes(5, pb_bytes(2, spm_charsmap({b"a": b"A"}))))
    seed("bpe_user_defined", pieces + spm_piece("xy", 0, 4) + spm_piece("aba", -0.2, 5) + pb_bytes(2, pb_number(3, 2)))
    byte_pieces = b"".join(spm_piece(f"<0x{b:02X}>", 0, 6) for b in range(256))
    seed("byte_fallback", pieces + byte_pieces + pb_bytes(2, pb_number(35, 1) + pb_bytes(44, "?")) +
         pb_bytes(3, pb_number(3, 0) + pb_number(4, 0)))
    seed("whitespace_suffix", pieces + pb_bytes(2, pb_number(24, 1)) + pb_bytes(3, pb_number(5, 0)))


def main():
    if not os.path.exists(QTOOL):
        sys.exit("make_seeds.py: build/qtool is missing; run scripts/build.sh first")
    tmp = tempfile.mkdtemp()
    try:
        ck = os.path.join(tmp, "tiny")
        tiny_checkpoint(ck)
        seeds(tmp, ck)
    finally:
        shutil.rmtree(tmp)


def qtool(*args):
    subprocess.run([QTOOL, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seeds(tmp, ck):
    sentencepiece_seeds()
    # safetensors: the tiny checkpoint in each dtype; the real model's header alone.
    put("fuzz_safetensors", "tiny_f32.safetensors", read(os.path.join(ck, "model.safetensors")))
    small = {"a.weight": [2, 3], "b": [4], "c": [0, 2], "s": []}
    put("fuzz_safetensors", "small_f16.safetensors", safetensors(small, "F16"))
    put("fuzz_safetensors", "small_bf16.safetensors", safetensors(small, "BF16"))
    real = read(os.path.join(TINY, "model.safetensors"))
    put("fuzz_safetensors", "ddtp_tiny_header_only.safetensors", real[:8 + struct.unpack("<Q", real[:8])[0]])

    # config.json NUL generation_config.json
    cfg, gen = read(os.path.join(TINY, "config.json")), read(os.path.join(TINY, "generation_config.json"))
    put("fuzz_model_config", "ddtp_tiny", cfg + b"\0" + gen)
    put("fuzz_model_config", "ddtp_tiny_config_only", cfg)
    put("fuzz_model_config", "bad_words", json.dumps(dict(tiny_config(), bad_words_ids=[[2], [5, 6]], num_beams=2,
                                                          length_penalty=0.6, early_stopping="never")))

    # vocab.json NUL tokenizer_config.json NUL target_vocab.json
    vocab = json.dumps({p: i for i, p in enumerate(PIECES)}, ensure_ascii=False).encode()
    tok = read(os.path.join(TINY, "tokenizer_config.json"))
    put("fuzz_vocabulary", "joint", vocab + b"\0" + tok)
    sep = json.loads(tok)
    sep["separate_vocabs"] = True
    target = json.dumps({p: i for i, p in enumerate(reversed(PIECES))}, ensure_ascii=False).encode()
    put("fuzz_vocabulary", "separate", vocab + b"\0" + json.dumps(sep).encode() + b"\0" + target)
    put("fuzz_vocabulary", "vocab_only", vocab)

    # Quantization configs: the repo's, and the shapes the seeds below use.
    configs = os.path.join(ROOT, "configs")
    for n in sorted(os.listdir(configs)):
        put("fuzz_quantize_config", n, read(os.path.join(configs, n)))
    per_tensor = {"version": 1, "int8": {"weights": "per_tensor", "activations": "static"}}
    lowbit = {"version": 1, "binary_code": {"iterations": 2, "group_size": 4, "activation_power": 0.5},
              "precision": {"embedding": 2, "output_projection": "int8", "enc_self_attn": 3, "enc_ffn": 4,
                            "dec_self_attn": 1, "dec_cross_attn": "int8", "dec_ffn": "fp32",
                            "layers": {"decoder.0.ffn": 2, "encoder.0.self_attn": "fp32"}}}
    clustered = {"version": 1, "precision": {"embedding": {"clusters": 3, "ratio": 2}, "output_projection": "embedding",
                                             "enc_self_attn": 2, "enc_ffn": 2, "dec_self_attn": 1,
                                             "dec_cross_attn": 2, "dec_ffn": 2}}
    for name, c in (("per_tensor_static.json", per_tensor), ("lowbit_groups.json", lowbit),
                    ("clustered.json", clustered)):
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(c, f)
        put("fuzz_quantize_config", name, json.dumps(c))

    # Calibration: a real one over the bundled model (a few sentences, column
    # statistics cut to 4 tensors) and one for the tiny checkpoint.
    real_calib = os.path.join(tmp, "real_calib.json")
    qtool("calibrate", "--model", TINY, "--data", os.path.join(ROOT, "data", "ddtp-en-de", "dev.en"),
          "--sentences", "4", "--output", real_calib)
    rc = json.loads(read(real_calib))
    rc["tensors"] = dict(list(rc["tensors"].items())[:4])
    for t in rc["tensors"].values():
        if "column_mean_square" in t:
            t["column_mean_square"] = t["column_mean_square"][:8]
    put("fuzz_calibration", "ddtp_tiny_cut.json", json.dumps(rc, indent=1))
    names = [n[:-len(".weight")] for n, s in tiny_tensors().items() if n.endswith("proj.weight") or "fc" in n and
             n.endswith(".weight")]
    calib = {"format": "qtool-calibration", "version": 1, "method": "kl", "bins": 2048, "percentile": 99.99,
             "sentences": 3,
             "model_checksum": "crc32:%08x" % zlib.crc32(read(os.path.join(ck, "model.safetensors"))),
             "tensors": {n: {"threshold": 0.5 + i / 10, "max_abs": 1.0, "mean_abs": 0.2, "min": -0.9 if i % 2 else 0.0,
                             "one_sided": i % 2 == 0, "count": 100, "column_mean_square": [0.1] * 8}
                         for i, n in enumerate(names)}}
    calib_path = os.path.join(tmp, "calib.json")
    with open(calib_path, "w") as f:
        json.dump(calib, f, indent=1)
    put("fuzz_calibration", "tiny_calib.json", json.dumps(calib, indent=1))

    # .qtm: the tiny checkpoint quantized four ways, SentencePiece sections cut.
    counts = os.path.join(tmp, "counts.json")
    src = os.path.join(tmp, "train.txt")
    with open(src, "w") as f:
        f.write("Hallo Welt.\nHallo\nWelts s s.\n")
    qtool("count-tokens", "--model", ck, "--source", src, "--target", src, "--output", counts)
    runs = {"int8_dynamic": ["--config", os.path.join(configs, "int8-dynamic.json")],
            "int8_static_per_tensor": ["--config", os.path.join(tmp, "per_tensor_static.json"),
                                       "--calibration", calib_path],
            "lowbit_groups": ["--config", os.path.join(tmp, "lowbit_groups.json")],
            "clustered": ["--config", os.path.join(tmp, "clustered.json"), "--token-counts", counts]}
    for name, args in runs.items():
        out = os.path.join(tmp, name + ".qtm")
        qtool("quantize", "--model", ck, "--output", out, "--quiet", *args)
        put("fuzz_qtm", name + ".qtm", shrink_qtm(read(out)))

    # BLEU: hypotheses NUL references, real lines and the tokenizer's special cases.
    hyp = read(os.path.join(TINY, "reference", "test.greedy.de")).split(b"\n")[:12]
    ref = read(os.path.join(ROOT, "data", "ddtp-en-de", "test.de")).split(b"\n")[:12]
    put("fuzz_bleu", "ddtp_test_12", b"\n".join(hyp) + b"\0" + b"\n".join(ref))
    put("fuzz_bleu", "special", "Er sagte: &quot;3-4 Äpfel&quot; &amp; 1,000.50 €, <skipped> x-\ny.\u3000\0"
                                "Er sagte: \"3 - 4 Äpfel\" & 1,000.50 € x y .\n\xff\xfe bad utf8")

    # HDF5 checks: a path, then the answers in the order check_dataset asks.
    def answers(path, file_bytes, layout, dims, chunk=None, stored=0, filtered=0, type_class=1, size=4):
        b = path.encode() + b"\0" + bytes([0]) + struct.pack("<Q", file_bytes)
        # enums are stored as value + 1 (harness: Answers::in_enum)
        b += struct.pack("<bb", 0, layout + 1) + bytes([1, type_class + 1]) + struct.pack("<Q", size)
        b += bytes([1, 1, (1 if dims else 0) + 1]) + struct.pack("<b", len(dims))
        if dims:
            b += b"".join(struct.pack("<Q", d) for d in dims) + bytes([1])
        if layout == 2:
            b += struct.pack("<b", len(chunk)) + b"".join(struct.pack("<Q", c) for c in chunk)
            b += struct.pack("<Q", stored) + bytes([1])
        else:
            b += bytes([1])
        return b + bytes([filtered])
    put("fuzz_hdf5_checks", "contiguous", answers("model/encoder/layers/0/fc1/weight", 1 << 20, 1, [16, 8]))
    put("fuzz_hdf5_checks", "scalar", answers("b", 100, 0, []))
    put("fuzz_hdf5_checks", "chunked_deflate", answers("model/shared/weight", 4096, 2, [8000, 128], [1000, 64], 16, 1))
    put("fuzz_hdf5_checks", "float64", answers("model/x", 100, 1, [2], type_class=1, size=8))


if __name__ == "__main__":
    main()
