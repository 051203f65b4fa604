#!/usr/bin/env python3
"""Trains small FP32 Marian checkpoints on the CPU, to check qtool on shapes,
activations and layouts that the kit's three models (../shared/models: en→de,
d_model 128 or 256, 4 heads, swish or relu) do not have.

  name                layout   dir    activation  d_model heads(dim) layers ffn   embeddings
  gelu-opus-deen      OPUS-MT  de→en  gelu (erf)  256     8 (32)     6+3    1024  tied, trained final_logits_bias
  relu-untied-deen    OPUS-MT  de→en  relu        192     3 (64)     3+3    768   untied, trained final_logits_bias
  gelunew-joint-ende  joint    en→de  gelu_new    160     5 (32)     4+2    640   tied

Untied means share_encoder_decoder_embeddings and tie_word_embeddings both
false: the checkpoint holds model.encoder.embed_tokens.weight,
model.decoder.embed_tokens.weight and lm_head.weight, three trained matrices,
and no model.shared.weight. The third variant was meant to be a pre-norm
(normalize_before) SiLU model, but transformers' MarianConfig has no
normalize_before and its Marian layers are always post-norm, so a pre-norm
Marian checkpoint cannot be made or checked against Hugging Face; it is a
gelu_new (tanh approximation) model instead.

Each model trains for a fixed wall-clock budget (--seconds, default 300) on
train.{en,de} of the kit's DDTP corpus, so that BLEU is far enough from zero for
quantization damage to show. That takes longer than the default on 2 shared
cores: 300 s is about half an epoch (greedy test BLEU 0.7-4, gelu-opus-deen
barely reads its source), while 1200 s gave relu-untied-deen dev 15.3 / test
11.4; the default makes the layouts and ids to check, a longer run the BLEU.
Written per model, into OUT/NAME/:
  config.json model.safetensors generation_config.json   (save_pretrained)
  source.spm target.spm vocab.json tokenizer_config.json   (the layouts of
      ../shared/README.md; transformers' MarianTokenizer loads them)
  reference/test.greedy.<tgt>, test.greedy.ids   Hugging Face greedy output for
      the first --test-lines lines of test.<src>: text, and model ids without
      the trailing eos (one line per sentence, as in the kit's reference/)
  reference/scores.json   sacreBLEU of those and of greedy dev, settings,
      versions, steps, tokenizer agreement; reference/train.log
Seeds are fixed and the learning-rate schedule depends on the step only, so a
run that stopped after N steps is replayed exactly by --steps N with the same
--threads (scores.json records N). usage: scripts/make-test-models.sh [--only NAME] [--out DIR]
[--seconds S | --steps N] [--threads 2]
"""
import argparse, json, math, os, random, shutil, time, warnings

# OpenMP threads that spin while waiting collapse (3-5x slower steps) when another
# process holds a core, as a compile beside this does; passive waiting costs little
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import sacrebleu
import sentencepiece as spm
import torch
import transformers
from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = {
    "gelu-opus-deen": dict(layout="opus", src="de", tgt="en", act="gelu", d=256, heads=8,
                           enc=6, dec=3, ffn=1024, tied=True, logits_bias=True),
    "relu-untied-deen": dict(layout="opus", src="de", tgt="en", act="relu", d=192, heads=3,
                             enc=3, dec=3, ffn=768, tied=False, logits_bias=True),
    "gelunew-joint-ende": dict(layout="joint", src="en", tgt="de", act="gelu_new", d=160, heads=5,
                               enc=4, dec=2, ffn=640, tied=True, logits_bias=False),
    # Trained weights in minutes: a kit model with another activation and head
    # split, fine-tuned until it translates again (its tokenizer files as they are).
    "small-gelu-8x32-ende": dict(init="ddtp-en-de-small", src="en", tgt="de", act="gelu", heads=8),
    "opustiny-gelunew-2x64-ende": dict(init="ddtp-en-de-opus-tiny", src="en", tgt="de", act="gelu_new", heads=2),
}

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--only", choices=sorted(VARIANTS), help="make this model only")
p.add_argument("--out", default=os.path.join(ROOT, "build", "test-models"))
p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "ddtp-en-de"))
p.add_argument("--seconds", type=float, default=300, help="training budget per model (wall clock)")
p.add_argument("--steps", type=int, default=None, help="train exactly this many steps instead")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--warmup", type=int, default=60, help="steps of linear warm-up, then 1/sqrt decay")
p.add_argument("--batch-tokens", type=int, default=600, help="sentences x longest side per batch; "
               "small: in minutes on a CPU, more updates beat bigger ones")
p.add_argument("--dropout", type=float, default=0.0, help="0: a few hundred steps never overfit")
p.add_argument("--max-train-len", type=int, default=64, help="skip longer training pairs (pieces)")
p.add_argument("--test-lines", type=int, default=200)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
warnings.filterwarnings("ignore", message=".*sacremoses.*")  # no Moses normalisation, as qtool


def read(split, lang):
    with open(os.path.join(a.data, f"{split}.{lang}"), encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def train_spm(texts, prefix, size):
    """Unigram model with the kit's special ids: </s>=0 <unk>=1 <pad>=2, no <s>."""
    with open(prefix + ".txt", "w", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
    spm.SentencePieceTrainer.train(
        input=prefix + ".txt", model_prefix=prefix, vocab_size=size, model_type="unigram",
        character_coverage=1.0, eos_id=0, unk_id=1, pad_id=2, bos_id=-1, eos_piece="</s>",
        unk_piece="<unk>", pad_piece="<pad>", num_threads=1, minloglevel=2)  # 1 thread: reproducible
    os.remove(prefix + ".txt"); os.remove(prefix + ".vocab")
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


class Vocab:
    """Pieces <-> model ids, as MarianTokenizer does it: spm pieces, ids from vocab.json."""

    def __init__(self, v, od, tr_src, tr_tgt):
        if "init" in v:  # the kit model's own files, copied
            kit = os.path.join(a.data, "..", "..", "models", v["init"])
            for f in ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json"):
                shutil.copy(os.path.join(kit, f), os.path.join(od, f))
            self.sp_src = spm.SentencePieceProcessor(model_file=os.path.join(od, "source.spm"))
            self.sp_tgt = spm.SentencePieceProcessor(model_file=os.path.join(od, "target.spm"))
            with open(os.path.join(od, "vocab.json"), encoding="utf-8") as f:
                self.table = json.load(f)
            cfg = MarianConfig.from_pretrained(kit)
            self.eos, self.unk, self.pad = cfg.eos_token_id, self.table["<unk>"], cfg.pad_token_id
            self.piece = {i: pc for pc, i in self.table.items()}
            self.size = cfg.vocab_size
            return
        if v["layout"] == "joint":  # one spm whose ids are the model ids: vocab.json is the identity
            self.sp_src = self.sp_tgt = train_spm(tr_src + tr_tgt, os.path.join(od, "source"), 6000)
            shutil.copy(os.path.join(od, "source.model"), os.path.join(od, "target.model"))
            self.table = {self.sp_src.id_to_piece(i): i for i in range(self.sp_src.get_piece_size())}
            self.eos, self.unk, self.pad = 0, 1, 2
        else:  # OPUS-MT: spm per language; </s>, <unk>, shuffled source pieces, new target pieces, <pad> last
            self.sp_src = train_spm(tr_src, os.path.join(od, "source"), 4000)
            self.sp_tgt = train_spm(tr_tgt, os.path.join(od, "target"), 4000)
            self.table, rng = {"</s>": 0, "<unk>": 1}, random.Random(7)
            for sp in (self.sp_src, self.sp_tgt):
                pieces = [sp.id_to_piece(i) for i in range(3, sp.get_piece_size())]
                rng.shuffle(pieces)  # model ids unrelated to either spm's ids
                for piece in pieces:
                    self.table.setdefault(piece, len(self.table))
            self.table["<pad>"] = len(self.table)
            self.eos, self.unk, self.pad = 0, 1, len(self.table) - 1
        for side in ("source", "target"):
            os.replace(os.path.join(od, side + ".model"), os.path.join(od, side + ".spm"))
        self.piece = {i: pc for pc, i in self.table.items()}
        self.size = len(self.table)

    def encode(self, text, sp):  # pieces -> ids (missing -> <unk>), then </s>
        return [self.table.get(pc, self.unk) for pc in sp.encode(text, out_type=str)] + [self.eos]

    def decode(self, ids):  # ids -> pieces -> target spm, special tokens dropped
        return self.sp_tgt.decode_pieces([self.piece[i] for i in ids if i not in (self.eos, self.unk, self.pad)])


def batches(pairs, rng):
    """Length-sorted batches of at most --batch-tokens (sentences x longest side), shuffled."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][1]), len(pairs[i][0]), rng.random()))
    out, cur, longest = [], [], 0
    for i in order:
        n = max(longest, len(pairs[i][0]), len(pairs[i][1]))
        if cur and n * (len(cur) + 1) > a.batch_tokens:
            out.append(cur); cur, n = [], max(len(pairs[i][0]), len(pairs[i][1]))
        cur.append(i); longest = n
    out.append(cur)
    rng.shuffle(out)
    return out


def padded(seqs, value):
    n = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (n - len(s)) for s in seqs])


def translate(model, voc, sents, batch=25):
    """Greedy ids per sentence (decoder start and everything from the first eos cut off)."""
    order = sorted(range(len(sents)), key=lambda i: len(sents[i]))
    result = [None] * len(sents)
    with torch.no_grad():
        for k in range(0, len(order), batch):
            chunk = order[k:k + batch]
            x = padded([voc.encode(sents[i], voc.sp_src) for i in chunk], voc.pad)
            # generate()'s own length: generation_config's max_length 256 (the start token
            # counted), i.e. 255 new tokens with eos, as the kit's references and qtool's default.
            y = model.generate(input_ids=x, attention_mask=(x != voc.pad).long(), num_beams=1, do_sample=False)
            for i, row in zip(chunk, y[:, 1:].tolist()):
                result[i] = row[:row.index(voc.eos)] if voc.eos in row else row
    return result


def make(name, v):
    t_start = time.time()
    random.seed(a.seed); torch.manual_seed(a.seed)
    final = os.path.join(a.out, name)
    od = final + ".tmp"  # built aside, renamed into place when complete
    shutil.rmtree(od, ignore_errors=True)
    rd = os.path.join(od, "reference")
    os.makedirs(rd)
    log = open(os.path.join(rd, "train.log"), "w")

    def say(*x):
        line = " ".join(str(i) for i in x)
        print(f"[{name}] {line}", flush=True); log.write(line + "\n"); log.flush()

    src, tgt = v["src"], v["tgt"]
    tr_s, tr_t = read("train", src), read("train", tgt)
    voc = Vocab(v, od, tr_s, tr_t)
    if "init" not in v:
        with open(os.path.join(od, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(voc.table, f, ensure_ascii=False)
        with open(os.path.join(od, "tokenizer_config.json"), "w") as f:
            json.dump({"tokenizer_class": "MarianTokenizer", "source_lang": src, "target_lang": tgt,
                       "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                       "model_max_length": 512, "separate_vocabs": False}, f, indent=1)
    if "init" in v:
        model = init_from_kit(v)
        V = voc.size
    else:
        model = new_model(v, voc)
        V = voc.size
    n_params = sum(t.numel() for t in model.parameters())
    say(f"transformers {transformers.__version__} torch {torch.__version__}, {a.threads} threads; "
        f"{src}->{tgt} {v}; vocab {V}, {n_params} parameters")
    train_s, step, epoch, seen, pairs = train(model, voc, tr_s, tr_t, V, say)
    finish(name, v, model, voc, od, final, rd, log, say, src, tgt, n_params, train_s, step, epoch, seen, pairs,
           t_start)


def init_from_kit(v):
    """The kit model's weights with another activation and head count (same shapes)."""
    kit = os.path.join(a.data, "..", "..", "models", v["init"])
    cfg = MarianConfig.from_pretrained(kit)
    cfg.activation_function = v["act"]
    cfg.encoder_attention_heads = cfg.decoder_attention_heads = v["heads"]
    cfg.dropout = a.dropout
    return MarianMTModel.from_pretrained(kit, config=cfg)


def new_model(v, voc):
    V, tied = voc.size, v["tied"]
    cfg = MarianConfig(
        vocab_size=V, decoder_vocab_size=V, d_model=v["d"], encoder_layers=v["enc"], decoder_layers=v["dec"],
        encoder_attention_heads=v["heads"], decoder_attention_heads=v["heads"], encoder_ffn_dim=v["ffn"],
        decoder_ffn_dim=v["ffn"], activation_function=v["act"], max_position_embeddings=512,
        dropout=a.dropout, attention_dropout=0.0, activation_dropout=0.0, scale_embedding=True,
        pad_token_id=voc.pad, eos_token_id=voc.eos, decoder_start_token_id=voc.pad, forced_eos_token_id=voc.eos,
        share_encoder_decoder_embeddings=tied, tie_word_embeddings=tied)
    model = MarianMTModel(cfg)  # HF's init; fairseq's (Xavier, N(0, 1/d) embeddings) learnt no faster here
    enc_e, dec_e = model.model.encoder.embed_tokens.weight, model.model.decoder.embed_tokens.weight
    assert {enc_e is dec_e, dec_e is model.lm_head.weight} == {tied}, "HF ties otherwise than asked"
    if v["logits_bias"]:  # HF keeps a zero buffer; OPUS-MT checkpoints carry a trained bias
        model.final_logits_bias = torch.nn.Parameter(model.final_logits_bias.detach().clone())
    return model


def train(model, voc, tr_s, tr_t, V, say):
    pairs = [(voc.encode(s, voc.sp_src), voc.encode(t, voc.sp_tgt)) for s, t in zip(tr_s, tr_t)]
    pairs = [pr for pr in pairs if max(len(pr[0]), len(pr[1])) <= a.max_train_len]
    say(f"{len(pairs)} training pairs of at most {a.max_train_len} pieces (of {len(tr_s)})")
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.0)
    lossf = torch.nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=0.1)
    rng, step, epoch, seen, t0, t_log, losses = random.Random(a.seed), 0, 0, 0, time.time(), time.time(), []
    model.train()
    done = lambda: step >= a.steps if a.steps else time.time() - t0 >= a.seconds
    while not done():
        epoch += 1
        for b in batches(pairs, rng):
            x = padded([pairs[i][0] for i in b], voc.pad)
            y_in = padded([[voc.pad] + pairs[i][1][:-1] for i in b], voc.pad)  # decoder starts with <pad>
            labels = padded([pairs[i][1] for i in b], -100)
            step += 1
            for g in opt.param_groups:  # a function of the step only: --steps replays a run
                g["lr"] = a.lr * min(step / a.warmup, math.sqrt(a.warmup / step))
            logits = model(input_ids=x, attention_mask=(x != voc.pad).long(), decoder_input_ids=y_in).logits
            loss = lossf(logits.view(-1, V), labels.view(-1))
            opt.zero_grad(set_to_none=True); loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
            losses.append(loss.item()); seen += int((labels != -100).sum())
            if time.time() - t_log >= 15 or done():
                el = time.time() - t0
                say(f"step {step} epoch {epoch} loss {sum(losses) / len(losses):.3f} "
                    f"lr {opt.param_groups[0]['lr']:.2e} elapsed {el:.0f}s {seen / el:.0f} target tokens/s")
                t_log, losses = time.time(), []
            if done():
                break
    train_s = time.time() - t0
    return train_s, step, epoch, seen, pairs


def finish(name, v, model, voc, od, final, rd, log, say, src, tgt, n_params, train_s, step, epoch, seen, pairs,
           t_start):
    model.eval()
    model.generation_config = GenerationConfig(  # what OPUS-MT checkpoints carry; greedy overrides num_beams
        decoder_start_token_id=voc.pad, eos_token_id=voc.eos, forced_eos_token_id=voc.eos,
        pad_token_id=voc.pad, max_length=256, num_beams=4)
    model.save_pretrained(od)
    model = MarianMTModel.from_pretrained(od).eval()  # the written checkpoint and generation_config.json only
    say("generation_config.json:", {k: getattr(model.generation_config, k) for k in ("num_beams", "max_length")},
        "num_beams 1 for greedy")
    with open(os.path.join(od, "model.safetensors"), "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    say("tensors outside layers:", sorted(k for k in header if ".layers." not in k and k != "__metadata__"))

    scores = {"model": name, "layout": v.get("layout", "kit's " + v.get("init", "")), "direction": f"{src}-{tgt}", "params": n_params,
              "vocab": voc.size, "config": v, "train": {
                  "steps": step, "epochs_started": epoch, "seconds": round(train_s, 1),
                  "target_tokens": seen, "pairs": len(pairs), "lr": a.lr, "warmup": a.warmup,
                  "batch_tokens": a.batch_tokens, "dropout": a.dropout, "seed": a.seed, "threads": a.threads,
                  "replay": f"--only {name} --steps {step}"},
              "decode": {"num_beams": 1, "max_length": 256},
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "sentencepiece": spm.__version__, "sacrebleu": sacrebleu.__version__}}
    for split, n in (("dev", None), ("test", a.test_lines)):
        srcs, refs = read(split, src)[:n], read(split, tgt)[:n]
        t = time.time()
        ids = translate(model, voc, srcs)
        hyps = [voc.decode(r) for r in ids]
        metric = sacrebleu.BLEU()
        bleu = metric.corpus_score(hyps, [refs])
        scores[f"{split}_bleu_greedy"] = round(bleu.score, 2)
        scores[f"{split}_bleu_greedy_line"] = f"{bleu} ({len(srcs)} lines)"
        say(f"{split} greedy, {len(srcs)} lines, {time.time() - t:.0f}s: {bleu}")
    with open(os.path.join(rd, f"test.greedy.{tgt}"), "w", encoding="utf-8") as f:
        f.write("\n".join(hyps) + "\n")
    with open(os.path.join(rd, "test.greedy.ids"), "w") as f:
        f.write("\n".join(" ".join(map(str, r)) for r in ids) + "\n")
    scores["signature"] = str(metric.get_signature())

    tok = MarianTokenizer.from_pretrained(od)  # must see the same ids and text as this script
    scores["hf_tokenizer"] = {
        "encode_same": sum(tok(s)["input_ids"] == voc.encode(s, voc.sp_src) for s in srcs),
        "decode_same": sum(tok.decode(r, skip_special_tokens=True, use_source_tokenizer=False) == h
                           for r, h in zip(ids, hyps)),
        "decode_default_same": sum(tok.decode(r, skip_special_tokens=True) == h for r, h in zip(ids, hyps)),
        "of": len(srcs)}
    say("MarianTokenizer agreement on the test lines:", scores["hf_tokenizer"])
    with open(os.path.join(rd, "scores.json"), "w") as f:
        json.dump(scores, f, indent=1, ensure_ascii=False)
    log.close()
    shutil.rmtree(final, ignore_errors=True)
    os.replace(od, final)
    print(f"[{name}] wrote {final} in {time.time() - t_start:.0f}s (training {train_s:.0f}s): "
          f"dev {scores['dev_bleu_greedy']} test {scores['test_bleu_greedy']} BLEU", flush=True)


os.makedirs(a.out, exist_ok=True)
for name in ([a.only] if a.only else VARIANTS):
    make(name, VARIANTS[name])
