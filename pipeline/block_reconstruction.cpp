#include "pipeline/block_reconstruction.h"

#include <algorithm>

#include "calibrate/paired_pass.h"
#include "quantize/model_quantizer.h"
#include "quantize/output_reconstruction.h"
#include "runtime/model.h"
#include "runtime/translator.h"
#include "util/progress.h"

namespace qtool::pipeline {

TeacherTokens teacher_tokens(std::shared_ptr<const runtime::MarianModel> reference,
                             std::shared_ptr<const Vocabulary> vocab, const std::vector<std::string>& lines) {
  runtime::Translator tr(std::move(reference), std::move(vocab));
  TeacherTokens t;
  for (const std::string& l : lines) t.sources.push_back(tr.encode_source(l));
  runtime::TranslateOptions o;
  o.batch_size = 32;
  o.streams = 1;
  o.progress = false;
  t.targets = tr.translate_ids(t.sources, o);
  return t;
}

std::vector<BlockReport> reconstruct_blocks(const MarianWeights& fp32, MarianWeights& quantized,
                                            std::shared_ptr<const Vocabulary> vocab,
                                            const std::vector<std::string>& lines,
                                            const quantize::ReconstructionOptions& opt, bool vectors_f16,
                                            bool progress) {
  const ModelConfig& c = quantized.config;
  struct Block {
    LinearWeights *fc1, *fc2;
    LayerNormWeights* norm;
    std::string name;
  };
  std::vector<Block> blocks;
  for (size_t l = 0; l < quantized.encoder.size(); ++l) {
    EncoderLayerWeights& e = quantized.encoder[l];
    blocks.push_back({&e.fc1, &e.fc2, &e.ffn_norm, "model.encoder.layers." + std::to_string(l) + ".fc1"});
  }
  for (size_t l = 0; l < quantized.decoder.size(); ++l) {
    DecoderLayerWeights& e = quantized.decoder[l];
    blocks.push_back({&e.fc1, &e.fc2, &e.ffn_norm, "model.decoder.layers." + std::to_string(l) + ".fc1"});
  }
  std::erase_if(blocks, [&](const Block& b) { return !opt.ffn || (!b.fc1->binary && !b.fc2->binary); });
  LinearWeights& output = quantized.output;
  const bool fit_output = opt.output && (output.binary || output.clustered) && fp32.output.weight;
  if (blocks.empty() && !fit_output) return {};

  auto reference = std::make_shared<runtime::MarianModel>(fp32);
  const TeacherTokens tokens = teacher_tokens(reference, vocab, lines);
  std::map<std::string, calibrate::BlockRows> pairs;
  {
    runtime::MarianModel model(quantized);
    pairs = calibrate::collect_ffn_block_pairs(model, *reference, tokens.sources, tokens.targets, 32, opt.rows);
  }
  std::vector<BlockReport> out;
  Progress bar("block reconstruction (sub-layers, output projection)", int64_t(blocks.size()) + fit_output, progress);
  for (Block& b : blocks) {
    const calibrate::BlockRows& rows = pairs.at(b.name);
    quantize::FfnBlock f{*b.fc1, *b.fc2, *b.norm, c.activation, c.normalize_before};
    BlockReport r{b.name, rows.rows, quantize::reconstruct_ffn_block(f, rows.in.data(), rows.target.data(), rows.rows, opt)};
    *b.fc1 = f.fc1, *b.fc2 = f.fc2, *b.norm = f.norm;
    out.push_back(r);
    bar.advance();
  }
  if (fit_output) {
    const calibrate::BlockRows& rows = pairs.at("lm_head");
    // Rows of logits are vocabulary-wide: at most 2^25 numbers per matrix.
    const int64_t n = std::min(rows.rows, std::max<int64_t>(16, (int64_t(1) << 25) / fp32.output.weight->dim(0)));
    const quantize::OutputFit fit = quantize::reconstruct_output(
        *fp32.output.weight, fp32.output.bias ? fp32.output.bias->data.data() : nullptr, output.clustered,
        output.binary, rows.target.data(), rows.in.data(), n, opt);
    if (fit.clustered) {  // every role that shares the table takes the fitted one
      for (auto* role : {&quantized.encoder_embed_binary, &quantized.decoder_embed_binary})
        if (*role == output.clustered) *role = fit.clustered;
      output.clustered = fit.clustered;
    } else {
      output.binary = fit.binary;
    }
    out.push_back({"lm_head", n, fit.result});
    bar.advance();
  }
  bar.finish();
  if (vectors_f16) quantize::round_vectors_to_half(quantized);
  return out;
}

}  // namespace qtool::pipeline
