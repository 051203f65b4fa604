#!/usr/bin/env python3
"""qtool against CTranslate2 on one Marian checkpoint: the same input, batch and
threads, the two engines run in turn (qtool, CT2, qtool, CT2 ...), FP32 and INT8.
Run through scripts/bench-ct2.sh, which makes the Python environment (ctranslate2,
and torch + transformers for the conversion) and passes the kit's defaults.

Steps:
 1. Convert the checkpoint with scripts/ct2_convert.py (float32, and int8 weights);
    make qtool's INT8 .qtm by the recommended recipe (`qtool calibrate` on the
    training side, `qtool quantize --config configs/int8-static.json`) unless --qtm.
 2. Check: both engines translate the whole input once (batch 32, 2 threads) and
    CT2's FP32 output is compared line by line with the reference (the Hugging Face
    greedy output: --reference, or <model>/reference/<input stem>.greedy.de; else
    qtool's FP32 output, which is Hugging Face's). Below --min-agreement (0.98) no
    timing is taken. Agreements and BLEU (when a target-side reference exists) are printed.
 3. Time every setting: warm-up pair(s), then --runs pairs, qtool and CT2 in turn.
    Each run is one process: `qtool bench --json` or this script's `child` mode
    (ctranslate2 + sentencepiece only). Both time the same span: tokenize, translate,
    detokenize, model loading excluded; both count target tokens as the output's
    target pieces + 1 per line (eos); both read their peak RSS as VmHWM. CT2's FP32
    output of every timed run is checked against the reference again; an FP32 row
    below --min-agreement is reported as refused.
 4. Print a markdown table (and write it, and all raw figures as JSON, to --out).

Settings (--settings, comma-separated):
  b32-t1, b32-t2  batch 32, 1 / 2 threads, all lines (--lines)
  b1-t1, b1-t2    batch 1, 1 / 2 threads, the first --batch1-lines (300)
  best            each engine's best throughput layout, batch 32, 2 cores:
                  qtool --threads 2 --streams 2; CT2 inter_threads 2 x intra_threads 1
"""
import argparse
import hashlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

SETTINGS = {
    #          batch, threads, lines, qtool streams, CT2 (inter, intra)
    "b32-t1": dict(batch=32, threads=1, subset="all", streams=1, inter=1, intra=1),
    "b32-t2": dict(batch=32, threads=2, subset="all", streams=1, inter=1, intra=2),
    "b1-t1": dict(batch=1, threads=1, subset="batch1", streams=1, inter=1, intra=1),
    "b1-t2": dict(batch=1, threads=2, subset="batch1", streams=1, inter=1, intra=2),
    "best": dict(batch=32, threads=2, subset="all", streams=2, inter=2, intra=1),
}
LABELS = {
    "b32-t1": "batch 32, 1 thread",
    "b32-t2": "batch 32, 2 threads",
    "b1-t1": "batch 1, 1 thread",
    "b1-t2": "batch 1, 2 threads",
    "best": "batch 32, best on 2 cores (qtool 2 streams; CT2 2 replicas × 1 thread)",
}


def log(msg):
    print(f"bench-ct2: {msg}", file=sys.stderr, flush=True)


def read_text_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [l.decode("utf-8", errors="replace") for l in lines]


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(l + "\n" for l in lines)


def vm_hwm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------- child: one CT2 run


def child(argv):
    ap = argparse.ArgumentParser(prog="bench_ct2.py child")
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output")
    ap.add_argument("--compute-type", default="float32")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--inter", type=int, default=1)
    ap.add_argument("--intra", type=int, default=1)
    ap.add_argument("--max-decoding-length", type=int, default=255)
    ap.add_argument("--max-input-length", type=int, default=512)
    ap.add_argument("--eos", default="</s>")
    ap.add_argument("--specials", default="</s>,<unk>,<pad>")
    a = ap.parse_args(argv)
    import ctranslate2
    import sentencepiece as spm

    lines = read_text_lines(a.input)
    t0 = time.perf_counter()
    translator = ctranslate2.Translator(a.model, device="cpu", compute_type=a.compute_type,
                                        inter_threads=a.inter, intra_threads=a.intra)
    source = spm.SentencePieceProcessor(model_file=os.path.join(a.model, "source.spm"))
    target = spm.SentencePieceProcessor(model_file=os.path.join(a.model, "target.spm"))
    specials = set(a.specials.split(","))
    t1 = time.perf_counter()
    # As Marian's tokenizer: source pieces (CT2 maps a piece missing from the vocabulary
    # to <unk>), cut so that with </s> they fit max_position_embeddings, then </s>.
    pieces = [p[: a.max_input_length - 1] + [a.eos] for p in source.encode(lines, out_type=str)]
    # Greedy as transformers: no minimum length (CT2's default is 1), no length cut of the
    # input here (done above); sub-batches go to the replicas in parallel when inter > 1.
    results = translator.translate_batch(pieces, max_batch_size=a.batch, batch_type="examples", beam_size=1,
                                         max_decoding_length=a.max_decoding_length, min_decoding_length=0,
                                         max_input_length=0)
    hyps = [r.hypotheses[0] for r in results]
    # As Marian's tokenizer decodes with skip_special_tokens: specials dropped, the
    # target SentencePiece model's decoding, "▁" as space, stripped.
    outputs = [target.decode_pieces([t for t in h if t not in specials]).replace("\u2581", " ").strip()
               for h in hyps]
    t2 = time.perf_counter()
    if a.output:
        write_lines(a.output, outputs)
    wall = t2 - t1
    target_tokens = sum(len(h) + 1 for h in hyps)  # + eos, as qtool counts
    print(json.dumps({
        "sentences": len(lines), "source_tokens": sum(len(p) for p in pieces), "target_tokens": target_tokens,
        "load_seconds": t1 - t0, "wall_seconds": wall, "target_tokens_per_second": target_tokens / wall,
        "ms_per_sentence": 1000.0 * wall / len(lines), "peak_rss_bytes": vm_hwm_bytes(),
        "compute_type": translator.compute_type, "ctranslate2": ctranslate2.__version__,
    }))


# ---------------------------------------------------------------- parent


def run_process(cmd, env=None, what=""):
    """Runs cmd as one process; returns (stdout, stderr, wall seconds, CPU seconds)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if p.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        sys.exit(f"bench-ct2: {what or cmd[0]} exited {p.returncode}: {shlex.join(cmd)}\n{tail}")
    return stdout, stderr, wall, usage.ru_utime + usage.ru_stime


def agreement(hyp, ref):
    n = min(len(hyp), len(ref))
    if len(hyp) != len(ref):
        log(f"warning: comparing {len(hyp)} lines with {len(ref)}")
    same = sum(1 for h, r in zip(hyp, ref) if h == r)
    return {"identical": same, "lines": n, "fraction": same / n if n else 0.0}


def fmt_agree(a):
    return f"{a['identical']:,} / {a['lines']:,} ({100 * a['fraction']:.1f}%)"


def display_path(path):
    """Relative to the repository when inside it or its parent (the kit), for tables."""
    rel = os.path.relpath(os.path.abspath(path), REPO)
    return rel if not rel.startswith("../..") else os.path.abspath(path)


def pretty(key):
    """ct2_fp32_vs_reference -> CT2 FP32 vs reference"""
    words = {"ct2": "CT2", "fp32": "FP32", "int8": "INT8"}
    return " ".join(words.get(w, w) for w in key.split("_"))


def spread(values, digits=2):
    return f"{min(values):.{digits}f} / {statistics.median(values):.{digits}f} / {max(values):.{digits}f}"


def file_stamp(path):
    h = hashlib.sha256()
    for name in sorted(os.listdir(path)) if os.path.isdir(path) else [os.path.basename(path)]:
        full = os.path.join(path, name) if os.path.isdir(path) else path
        if os.path.isfile(full):
            st = os.stat(full)
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


class Bench:
    def __init__(self, a):
        self.a = a
        self.out = a.out
        os.makedirs(self.out, exist_ok=True)
        self.model = os.path.abspath(a.model)
        with open(os.path.join(self.model, "config.json"), encoding="utf-8") as f:
            self.config = json.load(f)
        self.generation = {}
        gen = os.path.join(self.model, "generation_config.json")
        if os.path.exists(gen):
            with open(gen, encoding="utf-8") as f:
                self.generation = json.load(f)
        tok = os.path.join(self.model, "tokenizer_config.json")
        self.tokenizer_config = {}
        if os.path.exists(tok):
            with open(tok, encoding="utf-8") as f:
                self.tokenizer_config = json.load(f)
        self.results = {"model": self.model, "input": os.path.abspath(a.input), "runs": a.runs,
                        "warmup": a.warmup, "settings": {}, "check": {}}

    # -- options read from the checkpoint

    def max_decoding_length(self):
        if self.a.max_decoding_length:
            return self.a.max_decoding_length
        g = self.generation
        # transformers: max_length counts the decoder start token, and with a forced eos the
        # last of the max_length − 1 new tokens is that eos. CT2 stops after max_decoding_length
        # tokens without forcing one, so the same ids need one token fewer.
        forced = 1 if g.get("forced_eos_token_id", self.config.get("forced_eos_token_id")) is not None else 0
        if g.get("max_new_tokens"):
            return int(g["max_new_tokens"]) - forced
        return int(g.get("max_length") or self.config.get("max_length") or 256) - 1 - forced

    def specials(self):
        t = self.tokenizer_config
        return [t.get("eos_token", "</s>"), t.get("unk_token", "<unk>"), t.get("pad_token", "<pad>")]

    # -- preparation

    def convert(self):
        stamp = {"model": self.model, "files": file_stamp(self.model), "layout": self.a.layout,
                 "converter": file_stamp(os.path.join(HERE, "ct2_convert.py"))}
        self.ct2 = {}
        for prec, quant in (("fp32", "float32"), ("int8", "int8")):
            if prec not in self.a.precisions and prec != "fp32":  # FP32 is always checked
                continue
            d = os.path.join(self.out, f"ct2-{quant}")
            stamp_file = os.path.join(d, "bench-ct2-stamp.json")
            same = False
            if os.path.exists(stamp_file) and not self.a.reconvert:
                with open(stamp_file) as f:
                    old = json.load(f)
                same = old.get("stamp") == stamp
            if same:
                info = old["info"]
            else:
                log(f"converting {self.model} to CTranslate2 ({quant}) in {d}")
                out, _, _, _ = run_process([sys.executable, os.path.join(HERE, "ct2_convert.py"), "--model",
                                            self.model, "--output", d, "--quantization", quant, "--layout",
                                            self.a.layout, "--force"], what="ct2_convert.py")
                info = json.loads(out.strip().splitlines()[-1])
                with open(stamp_file, "w") as f:
                    json.dump({"stamp": stamp, "info": info}, f)
            self.ct2[prec] = d
            self.results.setdefault("conversion", {})[prec] = info
        info = self.results["conversion"]["fp32"]
        log(f"conversion: {info['layout']} ({info['why']}); vocabulary {info['vocabulary']}, "
            f"decoder start {info['decoder_start_token']}")

    def make_qtm(self):
        q = self.a.qtool
        if self.a.qtm:
            self.qtm = os.path.abspath(self.a.qtm)
            return
        self.qtm = os.path.join(self.out, "qtool-int8-static.qtm")
        calib = os.path.join(self.out, "calib.json")
        stamp = {"model": self.model, "files": file_stamp(self.model), "data": os.path.abspath(self.a.calib_data),
                 "sentences": self.a.calib_sentences, "config": file_stamp(self.a.int8_config),
                 "qtool": file_stamp(q)}
        stamp_file = self.qtm + ".stamp.json"
        if os.path.exists(self.qtm) and os.path.exists(stamp_file):
            with open(stamp_file) as f:
                if json.load(f) == stamp:  # same model, data, recipe and qtool binary
                    return
        if not os.path.exists(self.a.calib_data):
            sys.exit(f"bench-ct2: calibration data {self.a.calib_data} not found (--calib-data, or --qtm FILE)")
        log(f"qtool calibrate ({self.a.calib_sentences} lines of {self.a.calib_data}) and quantize "
            f"({os.path.relpath(self.a.int8_config, REPO)})")
        run_process([q, "calibrate", "--model", self.model, "--data", self.a.calib_data, "--sentences",
                     str(self.a.calib_sentences), "--output", calib, "--quiet"], what="qtool calibrate")
        run_process([q, "quantize", "--model", self.model, "--calibration", calib, "--config", self.a.int8_config,
                     "--output", self.qtm, "--quiet"], what="qtool quantize")
        with open(stamp_file, "w") as f:
            json.dump(stamp, f)

    def prepare_inputs(self):
        lines = read_text_lines(self.a.input)
        if not lines:
            sys.exit(f"bench-ct2: {self.a.input} is empty")
        n_all = len(lines) if self.a.lines <= 0 else min(self.a.lines, len(lines))
        n_b1 = n_all if self.a.batch1_lines <= 0 else min(self.a.batch1_lines, n_all)
        self.inputs = {}
        for name, n in (("all", n_all), ("batch1", n_b1)):
            path = os.path.join(self.out, f"input.{name}.txt")
            write_lines(path, lines[:n])
            self.inputs[name] = (path, n)
        self.results["lines"] = {"all": n_all, "batch1": n_b1}

    def find_reference(self):
        ref = self.a.reference
        kind = "given (--reference)"
        if ref and not os.path.exists(ref):
            sys.exit(f"bench-ct2: --reference {ref} not found")
        if not ref:
            stem = os.path.splitext(os.path.basename(self.a.input))[0]
            lang = self.tokenizer_config.get("target_lang")
            folder = os.path.join(self.model, "reference")
            names = [f"{stem}.greedy.{lang}"] if lang else sorted(
                n for n in (os.listdir(folder) if os.path.isdir(folder) else [])
                if n.startswith(f"{stem}.greedy.") and n.count(".") == 2 and not n.endswith(".ids"))
            cand = os.path.join(folder, names[0]) if len(names) == 1 else ""
            if os.path.exists(cand) and len(read_text_lines(cand)) == len(read_text_lines(self.a.input)):
                ref, kind = cand, "Hugging Face greedy (the model's reference folder)"
        if ref:
            self.reference = read_text_lines(ref)
            if len(self.reference) < self.results["lines"]["all"]:
                sys.exit(f"bench-ct2: {ref} has {len(self.reference)} lines for {self.results['lines']['all']} "
                         f"input lines")
            self.reference_kind = f"{kind}: {display_path(ref)}"
        else:
            self.reference = None
            self.reference_kind = "qtool FP32 (identical to Hugging Face; no reference file found)"
        bleu_ref = self.a.bleu_ref
        if not bleu_ref:
            src, tgt = self.tokenizer_config.get("source_lang"), self.tokenizer_config.get("target_lang")
            base, ext = os.path.splitext(self.a.input)
            if src and tgt and ext == "." + src and os.path.exists(base + "." + tgt):
                bleu_ref = base + "." + tgt
        self.bleu_ref = bleu_ref if bleu_ref and os.path.exists(bleu_ref) else None

    # -- commands

    def qtool_model(self, prec):
        return self.model if prec == "fp32" else self.qtm

    def qtool_bench_cmd(self, prec, s):
        path, _ = self.inputs[s["subset"]]
        cmd = [self.a.qtool, "bench", "--model", self.qtool_model(prec), "--input", path, "--batch", str(s["batch"]),
               "--threads", str(s["threads"]), "--streams", str(s["streams"]), "--json", "--quiet"]
        return cmd  # --streams always: qtool's default (0) would run b32-t2 as two streams too

    def ct2_env(self, verbose=False):
        env = dict(os.environ, **self.a.ct2_env)
        if verbose:
            env["CT2_VERBOSE"] = "1"
        return env

    def ct2_floor(self):
        """Peak RSS of a CT2 child process that imports what it imports and loads no model."""
        code = ("import ctranslate2, sentencepiece\n"
                "print([int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])")
        out, _, _, _ = run_process([sys.executable, "-c", code], env=self.ct2_env(), what="CT2 floor")
        return int(out) / 1024

    def ct2_cmd(self, prec, s, output=None, subset=None):
        path, _ = self.inputs[subset or s["subset"]]
        cmd = [sys.executable, os.path.abspath(__file__), "child", "--model", self.ct2[prec], "--input", path,
               "--compute-type", "float32" if prec == "fp32" else self.a.ct2_int8_type,
               "--batch", str(s["batch"]), "--inter", str(s["inter"]), "--intra", str(s["intra"]),
               "--max-decoding-length", str(self.max_decoding_length()),
               "--max-input-length", str(self.config.get("max_position_embeddings", 512)),
               "--eos", self.specials()[0], "--specials", ",".join(self.specials())]
        if output:
            cmd += ["--output", output]
        return cmd

    def bleu(self, hyp_path):
        if not self.bleu_ref:
            return None
        ref_lines = read_text_lines(self.bleu_ref)
        n = len(read_text_lines(hyp_path))
        ref = self.bleu_ref
        if n != len(ref_lines):
            ref = os.path.join(self.out, "bleu-ref.txt")
            write_lines(ref, ref_lines[:n])
        out, _, _, _ = run_process([self.a.qtool, "eval-bleu", "--hyp", hyp_path, "--ref", ref, "--json"],
                                   what="qtool eval-bleu")
        return json.loads(out)["bleu"]

    # -- step 2: the check

    def check(self):
        s = dict(SETTINGS["b32-t2"])
        path, n = self.inputs["all"]
        outs = {}
        precs = ["fp32"] + (["int8"] if "int8" in self.a.precisions else [])
        for prec in precs:
            q_out = os.path.join(self.out, f"qtool.{prec}.out")
            log(f"check: qtool {prec} translates {n} lines")
            run_process([self.a.qtool, "translate", "--model", self.qtool_model(prec), "--input", path, "--output",
                         q_out, "--batch", "32", "--threads", "2", "--quiet"], what="qtool translate")
            c_out = os.path.join(self.out, f"ct2.{prec}.out")
            log(f"check: CTranslate2 {prec} translates {n} lines")
            stdout, stderr, _, _ = run_process(self.ct2_cmd(prec, s, output=c_out), env=self.ct2_env(verbose=True),
                                               what="CT2 child")
            if prec == "fp32":
                self.results["ct2_runtime_info"] = [l.split("[info]", 1)[-1].strip() for l in stderr.splitlines()
                                                    if "[info]" in l and "Loaded model" not in l]
            outs[prec] = (read_text_lines(q_out), read_text_lines(c_out), q_out, c_out)
        ref = self.reference[:n] if self.reference else outs["fp32"][0]
        c = self.results["check"]
        c["reference"] = self.reference_kind
        c["ct2_fp32_vs_reference"] = agreement(outs["fp32"][1], ref)
        c["ct2_fp32_vs_qtool_fp32"] = agreement(outs["fp32"][1], outs["fp32"][0])
        if self.reference:
            c["qtool_fp32_vs_reference"] = agreement(outs["fp32"][0], ref)
        if "int8" in outs:
            c["ct2_int8_vs_reference"] = agreement(outs["int8"][1], ref)
            c["qtool_int8_vs_reference"] = agreement(outs["int8"][0], ref)
            c["ct2_int8_vs_qtool_int8"] = agreement(outs["int8"][1], outs["int8"][0])
        if self.bleu_ref:
            c["bleu_ref"] = self.bleu_ref
            c["bleu"] = {f"{eng}_{prec}": self.bleu(outs[prec][i + 2])
                         for prec in precs for i, eng in enumerate(("qtool", "ct2"))}
        for k, v in c.items():
            if isinstance(v, dict) and "fraction" in v:
                log(f"check: {pretty(k)}: {fmt_agree(v)}")
        if "bleu" in c:
            log("check: BLEU " + ", ".join(f"{pretty(k)} {v:.2f}" for k, v in c["bleu"].items()))
        frac = c["ct2_fp32_vs_reference"]["fraction"]
        if frac < self.a.min_agreement:
            self.write_outputs()
            sys.exit(f"bench-ct2: CTranslate2's FP32 output is identical to the reference on only "
                     f"{100 * frac:.1f}% of lines (< {100 * self.a.min_agreement:.0f}%): the conversion is not "
                     f"the model; no timing is reported ({self.reference_kind})")
        self.fp32_reference = ref

    # -- step 3: timing

    def time_setting(self, name, prec):
        s = SETTINGS[name]
        _, n = self.inputs[s["subset"]]
        c_out = os.path.join(self.out, f"ct2.{prec}.{name}.out")
        q_cmd, c_cmd = self.qtool_bench_cmd(prec, s), self.ct2_cmd(prec, s, output=c_out)
        runs = {"qtool": [], "ct2": []}
        agree = []

        def one(engine):
            cmd = q_cmd if engine == "qtool" else c_cmd
            load_before = os.getloadavg()[0]
            out, _, wall, cpu = run_process(cmd, env=None if engine == "qtool" else self.ct2_env(),
                                            what=f"{engine} {name} {prec}")
            j = json.loads(out)
            r = {"ms_per_sentence": j["ms_per_sentence"], "tokens_per_second": j["target_tokens_per_second"],
                 "target_tokens": j["target_tokens"], "sentences": j["sentences"],
                 "peak_rss_mib": j["peak_rss_bytes"] / 2**20, "load_seconds": j["load_seconds"],
                 "process_wall_seconds": wall, "process_cpu_seconds": cpu,
                 "loadavg_1min_before": load_before}
            if engine == "qtool":
                r["kernels"] = j.get("kernels")
            else:
                r["compute_type"] = j.get("compute_type")
                ref = self.fp32_reference[:n] if prec == "fp32" else None
                if ref is not None:
                    agree.append(agreement(read_text_lines(c_out), ref))
            return r

        for _ in range(self.a.warmup):
            one("qtool"), one("ct2")
        agree.clear()
        for i in range(self.a.runs):
            for engine in ("qtool", "ct2"):
                runs[engine].append(one(engine))
            log(f"{name} {prec} run {i + 1}/{self.a.runs}: qtool {runs['qtool'][-1]['ms_per_sentence']:.2f} ms, "
                f"CT2 {runs['ct2'][-1]['ms_per_sentence']:.2f} ms per sentence")
        res = {"setting": dict(s, lines=n), "qtool_command": shlex.join(q_cmd), "ct2_command": shlex.join(c_cmd),
               "runs": runs}
        if agree:
            worst = min(agree, key=lambda x: x["fraction"])
            res["ct2_fp32_vs_reference"] = worst
            res["refused"] = worst["fraction"] < self.a.min_agreement
        med = lambda eng, k: statistics.median(r[k] for r in runs[eng])
        res["median"] = {eng: {k: med(eng, k) for k in ("ms_per_sentence", "tokens_per_second", "peak_rss_mib",
                                                        "process_wall_seconds", "process_cpu_seconds")}
                         for eng in runs}
        # per pair: CT2 time / qtool time (> 1: qtool faster), tokens/s ratio qtool / CT2
        res["ratio_ct2_over_qtool_time"] = statistics.median(
            c["ms_per_sentence"] / q["ms_per_sentence"] for q, c in zip(runs["qtool"], runs["ct2"]))
        res["ratio_qtool_over_ct2_tokens_per_second"] = statistics.median(
            q["tokens_per_second"] / c["tokens_per_second"] for q, c in zip(runs["qtool"], runs["ct2"]))
        self.results["settings"].setdefault(name, {})[prec] = res
        self.write_outputs()

    # -- step 4: output

    def table(self):
        r = self.results
        rows = ["| setting | precision | lines | qtool ms/sentence min / median / max | CT2 ms/sentence min / median / max "
                "| qtool tokens/s (median) | CT2 tokens/s (median) | qtool speed-up over CT2 (paired median) "
                "| peak RSS qtool / CT2 (median) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, by_prec in r["settings"].items():
            for prec, res in by_prec.items():
                q, c = res["runs"]["qtool"], res["runs"]["ct2"]
                m = res["median"]
                if res.get("refused"):
                    rows.append(f"| {LABELS[name]} | {prec.upper()} | {res['setting']['lines']:,} | refused: CT2 FP32 "
                                f"identical on {fmt_agree(res['ct2_fp32_vs_reference'])} | | | | | |")
                    continue
                rows.append(
                    f"| {LABELS[name]} | {prec.upper()} | {res['setting']['lines']:,} "
                    f"| {spread([x['ms_per_sentence'] for x in q])} | {spread([x['ms_per_sentence'] for x in c])} "
                    f"| {m['qtool']['tokens_per_second']:,.0f} | {m['ct2']['tokens_per_second']:,.0f} "
                    f"| **{res['ratio_ct2_over_qtool_time']:.2f}x** "
                    f"| {m['qtool']['peak_rss_mib']:.1f} / {m['ct2']['peak_rss_mib']:.1f} MiB |")
        c = r["check"]
        int8 = (f", INT8 `{self.a.ct2_int8_type}` (weights converted to int8); qtool INT8 "
                f"`{os.path.basename(self.qtm)}`" if self.qtm else "")
        notes = [f"CTranslate2 {r.get('ctranslate2', '?')}: FP32 `float32`{int8}. {r['runs']} runs after "
                 f"{r['warmup']} warm-up pair(s), qtool and CT2 in turn; speed-up = CT2 ms/sentence ÷ qtool "
                 f"ms/sentence, median over pairs; peak RSS = VmHWM of each process (a CT2 process that loads "
                 f"no model, Python with ctranslate2 and sentencepiece imported: "
                 f"{r.get('ct2_process_floor_rss_mib', 0):.1f} MiB)."]
        loads = [x["loadavg_1min_before"] for by_prec in r["settings"].values() for res in by_prec.values()
                 for eng in res["runs"].values() for x in eng]
        if loads:
            notes[0] += f" 1-minute load average before a run: {min(loads):.2f} to {max(loads):.2f}."
        info = [l for l in r.get("ct2_runtime_info", []) if l.lstrip("- ").startswith(("Selected ISA", "Use Intel MKL",
                                                                                      "SGEMM", "GEMM_S8"))]
        if info:
            notes.append("CT2 on this CPU (`CT2_VERBOSE=1`): " + "; ".join(l.lstrip("- ") for l in info) + ".")
        if r.get("ct2_env"):
            notes.append("CT2 environment: " + ", ".join(f"`{k}={v}`" for k, v in r["ct2_env"].items()) + ".")
        if c:
            agree = [f"{pretty(k)} {fmt_agree(v)}" for k, v in c.items() if isinstance(v, dict) and "fraction" in v]
            notes.append(f"Identical lines, batch 32 (reference: {c['reference']}): " + "; ".join(agree) + ".")
            if "bleu" in c:
                notes.append("BLEU: " + ", ".join(f"{pretty(k)} {v:.2f}" for k, v in c["bleu"].items()) + ".")
        return "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n"

    def write_outputs(self):
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1)

    def run(self):
        import ctranslate2  # the environment's version, for the record
        self.results["ctranslate2"] = ctranslate2.__version__
        # One build for the whole run, even if the build folder is rebuilt meanwhile (qtool
        # links only system libraries).
        src = os.path.abspath(self.a.qtool)
        self.a.qtool = os.path.join(self.out, "qtool.bin")
        shutil.copy2(src, self.a.qtool)
        commit = subprocess.run(["git", "-C", os.path.dirname(src), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        self.results["qtool"] = {"binary": src, "repo_head": commit}
        self.results["max_decoding_length"] = self.max_decoding_length()
        self.prepare_inputs()
        self.find_reference()
        self.convert()
        self.qtm = None
        if "int8" in self.a.precisions:
            self.make_qtm()
            self.results["qtool_int8_model"] = self.qtm
        self.check()
        log(f"CTranslate2 {ctranslate2.__version__}: " + "; ".join(self.results.get("ct2_runtime_info", [])))
        self.results["ct2_env"] = self.a.ct2_env
        self.results["ct2_process_floor_rss_mib"] = self.ct2_floor()
        load = os.getloadavg()[0]
        if load > 1.0:
            log(f"warning: the 1-minute load average is {load:.1f} on {os.cpu_count()} cores: other work will "
                f"slow and spread the timings (2-thread runs most)")
        for name in self.a.settings:
            for prec in self.a.precisions:
                self.time_setting(name, prec)
        table = self.table()
        with open(os.path.join(self.out, "table.md"), "w") as f:
            f.write(table)
        self.write_outputs()
        print(table)
        log(f"raw figures: {os.path.join(self.out, 'results.json')}, table: {os.path.join(self.out, 'table.md')}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        return child(sys.argv[2:])
    kit = os.path.join(os.path.dirname(REPO), "shared")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(kit, "models", "ddtp-en-de-small"),
                    help="FP32 Hugging Face Marian checkpoint directory")
    ap.add_argument("--input", default=os.path.join(kit, "data", "ddtp-en-de", "test.en"))
    ap.add_argument("--lines", type=int, default=0, help="use the first N lines (0 = all)")
    ap.add_argument("--batch1-lines", type=int, default=300, help="batch-1 settings: the first N lines (0 = as --lines)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="warm-up pairs per setting")
    ap.add_argument("--settings", default="b32-t1,b32-t2,b1-t1,b1-t2,best",
                    help=f"comma-separated, of {', '.join(SETTINGS)}")
    ap.add_argument("--precisions", default="fp32,int8", help="fp32, int8 or both")
    ap.add_argument("--qtool", default=os.path.join(REPO, "build", "qtool"))
    ap.add_argument("--qtm", help="qtool's INT8 model (default: made here by the recommended recipe)")
    ap.add_argument("--calib-data", default=os.path.join(kit, "data", "ddtp-en-de", "train.en"))
    ap.add_argument("--calib-sentences", type=int, default=500)
    ap.add_argument("--int8-config", default=os.path.join(REPO, "configs", "int8-static.json"))
    ap.add_argument("--ct2-int8-type", default="int8_float32",
                    help="CT2 compute type of the INT8 side (on CPU int8 = int8_float32)")
    ap.add_argument("--ct2-env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment of the CT2 processes, e.g. CT2_FORCE_CPU_ISA=AVX512 or CT2_USE_MKL=1 (repeatable)")
    ap.add_argument("--layout", choices=["auto", "opus", "exact"], default="auto",
                    help="ct2_convert.py's loader (auto: the stock one only where its OPUS-MT assumption holds)")
    ap.add_argument("--reconvert", action="store_true", help="convert again even if the converted model is current")
    ap.add_argument("--reference", help="Hugging Face greedy output of --input, one line each")
    ap.add_argument("--bleu-ref", help="target-side reference for BLEU (default: --input with the target language's extension)")
    ap.add_argument("--max-decoding-length", type=int, default=0,
                    help="CT2 max_decoding_length (0: generation_config.json's max_length − 1, − 1 more with a forced eos)")
    ap.add_argument("--min-agreement", type=float, default=0.98)
    ap.add_argument("--out", help="work and result folder (default build/bench-ct2/<model folder name>)")
    a = ap.parse_args()
    try:
        a.ct2_env = dict(e.split("=", 1) for e in a.ct2_env)
    except ValueError:
        ap.error("--ct2-env takes NAME=VALUE")
    a.settings = [s.strip() for s in a.settings.split(",") if s.strip()]
    a.precisions = [p.strip().lower() for p in a.precisions.split(",") if p.strip()]
    for s in a.settings:
        if s not in SETTINGS:
            ap.error(f"unknown setting {s!r} (of {', '.join(SETTINGS)})")
    for p in a.precisions:
        if p not in ("fp32", "int8"):
            ap.error(f"unknown precision {p!r}")
    if not os.access(a.qtool, os.X_OK):
        sys.exit(f"bench-ct2: {a.qtool} is not there (build it: bash scripts/build.sh, or --qtool PATH)")
    a.model = os.path.abspath(a.model.rstrip("/"))
    a.out = os.path.abspath(a.out or os.path.join(REPO, "build", "bench-ct2", os.path.basename(a.model)))
    Bench(a).run()


if __name__ == "__main__":
    main()
