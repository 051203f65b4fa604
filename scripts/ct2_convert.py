#!/usr/bin/env python3
"""Converts a Hugging Face Marian checkpoint to CTranslate2, correctly for any
vocabulary layout (used by scripts/bench-ct2.sh; needs ctranslate2, torch,
transformers and sentencepiece: the environment bench-ct2.sh makes).

  python3 scripts/ct2_convert.py --model DIR --output OUT [--quantization int8] [--layout auto|opus|exact] [--force]

CTranslate2's stock MarianMTLoader assumes the OPUS-MT layout: `<pad>` is the
last vocabulary entry, the decoder start token, and an all-zero embedding row
(Marian itself starts the decoder from a zero vector). It drops the last
vocabulary entry and the last row of every vocabulary-sized matrix and starts
the decoder from a zero embedding. On a checkpoint where `<pad>` is not last
(the kit's joint layout: `</s>` = 0, `<unk>` = 1, `<pad>` = 2 = decoder start)
that removes a real token's row and shifts nothing back: every id >= the dropped
row is off, and the start embedding is not the checkpoint's.

`exact` does what transformers does for any layout: every row and vocabulary
entry kept, the decoder started from the embedding of config.json's
`decoder_start_token_id`, `</s>` from `eos_token_id`. `opus` is the stock
loader. `auto` (the default) takes the stock loader only where its assumption
holds, read from config.json and the weights (pad = decoder start = the last id,
and the decoder's row for it all zeros), else `exact`. Either way the result
translates as transformers does (checked by bench_ct2.py against the
reference). It prints one JSON line: {"layout": ..., "vocabulary": N, ...}.
"""
import argparse
import json
import os
import sys

import ctranslate2
from ctranslate2.converters import transformers as ct2_hf


class MarianLoader(ct2_hf.MarianMTLoader):
    """The stock loader, or the exact one (every row, the configured start token)."""

    def __init__(self, layout="auto"):
        self.layout = layout
        self.exact = layout == "exact"
        self.reason = ""

    def _decide(self, model, tokenizer):
        cfg = model.config
        vocab_size = cfg.vocab_size if cfg.share_encoder_decoder_embeddings else cfg.decoder_vocab_size
        pad, start = cfg.pad_token_id, cfg.decoder_start_token_id
        pad_row_zero = bool((model.model.decoder.embed_tokens.weight[pad] == 0).all()) if pad is not None else False
        opus = (pad == start == vocab_size - 1 and pad_row_zero
                and tokenizer.convert_ids_to_tokens(pad) == "<pad>")
        self.reason = (f"pad_token_id {pad}, decoder_start_token_id {start}, vocabulary {vocab_size}, "
                       f"decoder pad row {'zero' if pad_row_zero else 'non-zero'}")
        if self.layout == "opus" and not opus:
            sys.exit(f"ct2_convert: --layout opus: the stock converter's assumption does not hold ({self.reason})")
        if self.layout == "auto":
            self.exact = not opus

    def __call__(self, model, tokenizer):
        self._decide(model, tokenizer)
        return super().__call__(model, tokenizer)

    def get_model_spec(self, model):
        if not self.exact:
            return super().get_model_spec(model)
        model.config.normalize_before = False
        model.config.normalize_embedding = False
        return ct2_hf.BartLoader.get_model_spec(self, model)  # no row removed

    def set_config(self, config, model, tokenizer):
        if not self.exact:
            return super().set_config(config, model, tokenizer)
        config.eos_token = tokenizer.convert_ids_to_tokens(model.config.eos_token_id)
        config.unk_token = tokenizer.unk_token
        config.decoder_start_token = tokenizer.convert_ids_to_tokens(model.config.decoder_start_token_id)

    def set_decoder(self, spec, decoder):
        if not self.exact:
            return super().set_decoder(spec, decoder)
        ct2_hf.BartLoader.set_decoder(self, spec, decoder)
        spec.start_from_zero_embedding = False

    def get_vocabulary(self, model, tokenizer):
        if not self.exact:
            return super().get_vocabulary(model, tokenizer)
        vocab = tokenizer.get_vocab()
        ids = sorted(vocab.values())
        if ids != list(range(len(ids))):
            sys.exit("ct2_convert: the tokenizer's ids are not 0..N-1 without gaps")
        tokens = ct2_hf.BartLoader.get_vocabulary(self, model, tokenizer)
        rows = model.model.decoder.embed_tokens.weight.shape[0]
        if len(tokens) != rows:
            sys.exit(f"ct2_convert: {len(tokens)} vocabulary entries for {rows} embedding rows")
        return tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hugging Face Marian checkpoint directory")
    ap.add_argument("--output", required=True, help="CTranslate2 model directory to write")
    ap.add_argument("--quantization", default="float32", help="CTranslate2 weight type (float32, int8, ...)")
    ap.add_argument("--layout", choices=["auto", "opus", "exact"], default="auto")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    with open(os.path.join(args.model, "config.json"), encoding="utf-8") as f:
        arch = json.load(f).get("architectures", [""])[0]
    if arch != "MarianMTModel":
        sys.exit(f"ct2_convert: {args.model}: architectures is {arch!r}, not MarianMTModel")

    loader = MarianLoader(args.layout)
    ct2_hf._MODEL_LOADERS["MarianConfig"] = loader  # the registry the converter looks the config class up in
    files = [f for f in ("source.spm", "target.spm") if os.path.exists(os.path.join(args.model, f))]
    converter = ct2_hf.TransformersConverter(args.model, copy_files=files)
    converter.convert(args.output, quantization=args.quantization, force=args.force)
    with open(os.path.join(args.output, "config.json"), encoding="utf-8") as f:
        ct2_config = json.load(f)
    with open(os.path.join(args.output, "shared_vocabulary.json"), encoding="utf-8") as f:
        vocabulary = len(json.load(f))
    print(json.dumps({"layout": "exact" if loader.exact else "opus (stock converter)", "why": loader.reason,
                      "vocabulary": vocabulary, "decoder_start_token": ct2_config.get("decoder_start_token"),
                      "quantization": args.quantization, "ctranslate2": ctranslate2.__version__}))


if __name__ == "__main__":
    main()
