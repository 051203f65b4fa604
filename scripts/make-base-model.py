#!/usr/bin/env python3
"""Writes an untrained Hugging Face MarianMTModel with the dimensions and file
layout of a real OPUS-MT model (Helsinki-NLP/opus-mt-en-de), for timing and
size figures at real scale, and Hugging Face's greedy output on it as the
reference that `ctest -R test_e2e_base_model` holds qtool to.

  d_model 512, 8 heads, FFN 2048, 6 encoder + 6 decoder layers, swish,
  sinusoidal positions, scale_embedding, one tied embedding matrix (encoder,
  decoder, output projection), final_logits_bias, vocab_size 58,101 (<pad> =
  58,100 the decoder start, </s> = 0, <unk> = 1), as opus-mt-en-de's config.json
  and generation_config.json (bad_words_ids [[pad]], forced eos, num_beams 4).

The weights are random (fixed seed), so the output is no translation; the
model exists to be measured. Its final_logits_bias gives </s> a logit far below
any other, so greedy and beam search never stop early: every sentence decodes
exactly generation_config's max_length - 1 = 63 tokens (62 ids, then the eos
that transformers forces at the last position; qtool --max-new-tokens 63).

Random Marian weights decode one token over and over (greedy falls into a
fixed point), whatever the scale; the scale decides what the test can see.
Hugging Face's init_std 0.02 with this bias gives nearly the same token on
every line, and close calls at the first step; from 0.05 up, attention averages
the decoder's positions into one vector, so its logits no longer depend on the
tokens fed. 0.03 (bias std 0.3) keeps the decoder sensitive to its input
(changing one fed token moves later logits by ~0.25 of their spread), gives
different outputs on different lines, and leaves every greedy choice of the
20 reference lines at least 0.0126 ahead of the runner-up, where float32 and
float64 weights differ by 2.4e-6 in any logit.

Written into OUT (default build/base-model):
  config.json model.safetensors generation_config.json   (save_pretrained)
  source.spm target.spm   SentencePiece unigram models trained here on the
      kit's train.en / train.de (32,000 pieces asked, a soft limit: the corpus
      gives fewer English ones)
  vocab.json   </s>, <unk>, the pieces of both languages in shuffled order,
      "<unused-N>" entries up to 58,100 (the corpus has fewer distinct pieces
      than real OPUS-MT; the entries keep the embedding and output projection at
      real size), <pad> last
  tokenizer_config.json
  reference/   the same files as --reference-dir
and into --reference-dir (default tests/e2e/base-model, committed), for the
first --lines lines of test.en, from the checkpoint as written and reloaded:
  test.greedy.ids   Hugging Face greedy ids (no start token, no eos)
  test.greedy.de    their text by the kit's rule: target spm, special tokens dropped
  reference.json    settings, versions, tensor sums that identify the weights,
      the top-5 logits of each line at decoding steps 1, 2, 16, 32 and 62, and
      the smallest gap between the best and second-best allowed logit over all
      greedy steps (and float32's own error against float64)
The script stops with an error if that gap is below --min-gap (or 20 times
float32's error) or if float64 weights give other ids than float32: the
reference must not hang on rounding.

usage: scripts/make-base-model.sh [--output DIR] [--reference-dir DIR] [--lines 20]
"""
import argparse, json, os, random, shutil, time, warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as make-test-models.py: spinning threads collapse when shared
import sentencepiece as spm
import torch
import transformers
from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB_SIZE = 58101  # Helsinki-NLP/opus-mt-en-de
SPM_PIECES = 32000  # asked per language; real OPUS-MT models have up to 32k each
MAX_LENGTH = 64     # generation_config.json: the start token and 63 generated tokens
EOS_BIAS = -1e4     # far below any logit, finite so that the forced eos can still win
TOP_K = 5
LOGIT_STEPS = (1, 2, 16, 32, MAX_LENGTH - 2)  # decoding steps whose top-5 logits are kept

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--output", default=os.path.join(ROOT, "build", "base-model"))
p.add_argument("--reference-dir", default=os.path.join(ROOT, "tests", "e2e", "base-model"))
p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "ddtp-en-de"),
               help="train.{en,de} (SentencePiece) and test.en (reference lines)")
p.add_argument("--lines", type=int, default=20, help="test lines in the reference")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--init-std", type=float, default=0.03,
               help="std of the random weights; init_std in config.json")
p.add_argument("--bias-std", type=float, default=0.3, help="std of the random final_logits_bias")
p.add_argument("--min-gap", type=float, default=1e-2, help="refuse a reference whose closest argmax is nearer")
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
warnings.filterwarnings("ignore", message=".*sacremoses.*")  # no Moses normalisation, as qtool and the kit


def train_spm(lang, prefix):
    """A unigram model with the kit's special ids: </s>=0 <unk>=1 <pad>=2, no <s>."""
    spm.SentencePieceTrainer.train(
        input=os.path.join(a.data, f"train.{lang}"), model_prefix=prefix, vocab_size=SPM_PIECES,
        hard_vocab_limit=False, model_type="unigram", character_coverage=1.0, eos_id=0, unk_id=1, pad_id=2,
        bos_id=-1, eos_piece="</s>", unk_piece="<unk>", pad_piece="<pad>",
        num_threads=1, minloglevel=2)  # one thread: the same pieces on every run
    os.remove(prefix + ".vocab")
    os.replace(prefix + ".model", prefix + ".spm")
    return spm.SentencePieceProcessor(model_file=prefix + ".spm")


def vocab_table(sp_src, sp_tgt):
    """OPUS-MT's vocab.json: </s>, <unk>, both languages' pieces, filler, <pad> last."""
    table, rng = {"</s>": 0, "<unk>": 1}, random.Random(a.seed)
    for sp in (sp_src, sp_tgt):
        pieces = [sp.id_to_piece(i) for i in range(3, sp.get_piece_size())]
        rng.shuffle(pieces)  # model ids unrelated to either spm's ids, as in real checkpoints
        for piece in pieces:
            table.setdefault(piece, len(table))
    pieces = len(table)
    for n in range(VOCAB_SIZE - 1 - pieces):
        assert f"<unused-{n}>" not in table, "a corpus piece looks like a filler entry"
        table[f"<unused-{n}>"] = len(table)
    table["<pad>"] = len(table)
    assert len(table) == VOCAB_SIZE, f"{pieces} pieces do not fit in {VOCAB_SIZE} ids"
    return table, pieces


def new_model(pad):
    cfg = MarianConfig(  # opus-mt-en-de's values; dropout is off in eval anyway
        vocab_size=VOCAB_SIZE, decoder_vocab_size=VOCAB_SIZE, d_model=512, encoder_layers=6, decoder_layers=6,
        encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
        activation_function="swish", max_position_embeddings=512, scale_embedding=True, dropout=0.1,
        attention_dropout=0.0, activation_dropout=0.0, init_std=a.init_std, static_position_embeddings=True,
        normalize_before=False, normalize_embedding=False, pad_token_id=pad, eos_token_id=0, bos_token_id=0,
        decoder_start_token_id=pad, forced_eos_token_id=0, share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True)
    torch.manual_seed(a.seed)
    model = MarianMTModel(cfg).eval()  # HF's init: N(0, init_std), the pad row zero, LayerNorms 1 and 0
    shared = model.model.shared.weight
    assert model.lm_head.weight is shared and model.model.decoder.embed_tokens.weight is shared, "not tied"
    with torch.no_grad():  # OPUS-MT checkpoints carry a trained bias; here a random one
        bias = torch.randn(VOCAB_SIZE, generator=torch.Generator().manual_seed(a.seed + 1)) * a.bias_std
        bias[0] = EOS_BIAS
        model.final_logits_bias.copy_(bias.unsqueeze(0))
    model.generation_config = GenerationConfig(  # opus-mt-en-de's, with a short max_length
        bad_words_ids=[[pad]], bos_token_id=0, decoder_start_token_id=pad, eos_token_id=0, forced_eos_token_id=0,
        max_length=MAX_LENGTH, num_beams=4, pad_token_id=pad, renormalize_logits=True)
    return model


def tensor_sums(model):
    """Sums that tell whether a checkpoint holds these weights (the test checks them first)."""
    sd = model.state_dict()
    names = ["model.shared.weight", "model.encoder.layers.0.self_attn.q_proj.weight",
             "model.decoder.layers.5.fc2.weight", "final_logits_bias"]
    return {n: float(sd[n].double().sum()) for n in names}  # in double: the eos bias swamps nothing


def greedy(model, batch, pad):
    """Greedy ids (start and eos cut off) and the raw logits of every step."""
    with torch.no_grad():
        out = model.generate(**batch, num_beams=1, do_sample=False, output_logits=True,
                             return_dict_in_generate=True)
    ids = [[t for t in row[1:] if t != 0] for row in out.sequences.tolist()]
    assert all(t != pad for row in ids for t in row), "padding inside an output: a sentence stopped early"
    return ids, torch.stack(out.logits, 1)  # [lines, steps, vocab]


def closest_argmax(logits, ids, pad):
    """Smallest best - second-best gap over the allowed tokens of each free step."""
    lg = logits[:, :-1].clone()  # the last step is the forced eos: no choice
    lg[..., pad] = float("-inf")
    top = lg.topk(2, dim=-1)
    chosen = torch.tensor(ids)
    assert torch.equal(top.indices[..., 0], chosen), "argmax of the logits is not the token generate() chose"
    gap = top.values[..., 0] - top.values[..., 1]
    line, step = divmod(int(gap.argmin()), gap.shape[1])
    return float(gap.min()), line, step, float(gap.median())


def write_checkpoint(od):
    """The model and tokenizer files; returns the vocab table, the spm models and the joint piece count."""
    sp_src, sp_tgt = train_spm("en", os.path.join(od, "source")), train_spm("de", os.path.join(od, "target"))
    table, pieces = vocab_table(sp_src, sp_tgt)
    print(f"spm: {sp_src.get_piece_size()} en + {sp_tgt.get_piece_size()} de pieces, {pieces} joint entries, "
          f"{VOCAB_SIZE - 1 - pieces} filler", flush=True)
    with open(os.path.join(od, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(table, f, ensure_ascii=False, indent=1)
    with open(os.path.join(od, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "MarianTokenizer", "source_lang": "en", "target_lang": "de",
                   "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "model_max_length": 512,
                   "separate_vocabs": False}, f, indent=1)
    new_model(table["<pad>"]).save_pretrained(od)
    return table, sp_src, sp_tgt, pieces


def write_reference(od, table, sp_src, sp_tgt, pieces):
    """Hugging Face greedy on the files as written, reloaded as a user would load them."""
    model = MarianMTModel.from_pretrained(od).eval()
    tok = MarianTokenizer.from_pretrained(od)
    pad = table["<pad>"]
    assert model.final_logits_bias[0, 0] == EOS_BIAS, "final_logits_bias was not saved"
    with open(os.path.join(a.data, "test.en"), encoding="utf-8") as f:
        src = [next(f).rstrip("\n") for _ in range(a.lines)]
    batch = tok(src, return_tensors="pt", padding=True)
    for s, row in zip(src, batch["input_ids"].tolist()):  # MarianTokenizer follows the kit's rule
        mine = [table.get(pc, 1) for pc in sp_src.encode(s, out_type=str)] + [0]
        assert row[:len(mine)] == mine, f"MarianTokenizer encodes otherwise: {s!r}"
    ids, logits = greedy(model, batch, pad)
    assert all(len(r) == MAX_LENGTH - 2 for r in ids), "a sentence did not run to max_length"
    gap, gap_line, gap_step, gap_median = closest_argmax(logits, ids, pad)
    ids64, logits64 = greedy(model.double(), batch, pad)
    model.float()
    # float32's own rounding, against float64 on the same path (the eos column, near -1e4, left out)
    rounding = float((logits[:, :-1, 1:] - logits64[:, :-1, 1:]).abs().max()) if ids64 == ids else float("nan")
    print(f"greedy: {len(ids)} lines x {len(ids[0])} ids, {len({t for r in ids for t in r})} distinct ids; "
          f"smallest gap {gap:.4f} (line {gap_line + 1}, step {gap_step + 1}), median {gap_median:.3f}; float64 "
          f"ids {'same' if ids64 == ids else 'DIFFER'}, float32 logits within {rounding:.1e} of float64", flush=True)
    if ids64 != ids or not gap >= max(a.min_gap, 20 * rounding):
        raise SystemExit(f"make-base-model: the greedy argmax is too close to call (gap {gap:.2e}, float64 ids "
                         f"{'same' if ids64 == ids else 'differ'}); try another --init-std or --seed")
    top = {s: logits[:, s - 1].topk(TOP_K, dim=-1) for s in LOGIT_STEPS}
    # Text by the kit's rule (../shared/README.md): the target spm decodes the pieces, special tokens
    # dropped. MarianTokenizer.decode also turns each "▁" left by a piece the target spm lacks
    # (source-only pieces, "<unused-N>") into a space and strips; the lines where that differs are noted.
    piece = {i: pc for pc, i in table.items()}
    text = [sp_tgt.decode_pieces([piece[i] for i in r if i not in (0, 1, pad)]) for r in ids]
    hf_text = tok.batch_decode(ids, skip_special_tokens=True, use_source_tokenizer=False)
    ref = {
        "what": "Hugging Face greedy output of scripts/make-base-model.py's model on the first lines of test.en",
        "lines": a.lines, "max_length": MAX_LENGTH, "max_new_tokens": MAX_LENGTH - 1, "ids_per_line": MAX_LENGTH - 2,
        "seed": a.seed, "init_std": a.init_std, "bias_std": a.bias_std, "vocab_size": VOCAB_SIZE,
        "corpus_pieces": pieces, "spm_pieces": {"en": sp_src.get_piece_size(), "de": sp_tgt.get_piece_size()},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentencepiece": spm.__version__},
        "tensor_sums": tensor_sums(model),
        "marian_tokenizer_decode_differs": [i + 1 for i, (x, y) in enumerate(zip(text, hf_text)) if x != y],
        "smallest_gap": {"logit": round(gap, 6), "line": gap_line + 1, "step": gap_step + 1,
                         "median": round(gap_median, 4), "float32_vs_float64": float(f"{rounding:.3g}")},
        # per step (1 = the first decoding step), per line: the top-5 [id, logit] as Hugging Face ranks them
        "top5": {str(s): [[[i, round(v, 5)] for i, v in zip(ri, rv)]
                          for ri, rv in zip(t.indices.tolist(), t.values.tolist())] for s, t in top.items()},
    }
    rd = os.path.join(od, "reference")
    with open(os.path.join(rd, "test.greedy.ids"), "w") as f:
        f.write("\n".join(" ".join(map(str, r)) for r in ids) + "\n")
    with open(os.path.join(rd, "test.greedy.de"), "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")
    with open(os.path.join(rd, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


def main():
    t0 = time.time()
    for name in ("train.en", "train.de", "test.en"):
        if not os.path.isfile(os.path.join(a.data, name)):
            raise SystemExit(f"make-base-model: {os.path.join(a.data, name)}: missing (the kit's corpus; --data DIR)")
    out = os.path.abspath(a.output)
    od = out + ".tmp"  # built aside, renamed into place when complete
    shutil.rmtree(od, ignore_errors=True)
    os.makedirs(os.path.join(od, "reference"))
    made = write_checkpoint(od)
    print(f"checkpoint written in {time.time() - t0:.0f}s", flush=True)
    write_reference(od, *made)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(od, out)
    if a.reference_dir:
        shutil.copytree(os.path.join(out, "reference"), a.reference_dir, dirs_exist_ok=True)
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    print(f"wrote {out} (model.safetensors {size / 1e6:.1f} MB) and {a.reference_dir or 'no reference copy'} "
          f"in {time.time() - t0:.0f}s")


main()
