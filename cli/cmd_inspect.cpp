#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "model/bit_budget.h"
#include "model/qtm.h"
#include "model/vocabulary.h"

namespace qtool::cli {
namespace {

void print_summary(const std::string& path, const std::string& file, int64_t file_bytes, const MarianWeights& w,
                   const Vocabulary& vocab) {
  const ModelConfig& c = w.config;
  std::printf("model       %s (%s, %lld bytes)\n", path.c_str(), file.c_str(), static_cast<long long>(file_bytes));
  std::printf("layers      encoder %d, decoder %d; d_model %d; heads %d/%d (head dim %d/%d); ffn %d/%d\n",
              c.encoder_layers, c.decoder_layers, c.d_model, c.encoder_heads, c.decoder_heads, c.head_dim(false),
              c.head_dim(true), c.encoder_ffn_dim, c.decoder_ffn_dim);
  std::printf("blocks      %s; activation %s; scale_embedding %s; max positions %d\n",
              c.normalize_before ? "pre-norm" : "post-norm", activation_name(c.activation),
              c.scale_embedding ? "yes" : "no", c.max_position_embeddings);
  std::printf("vocabulary  source %zu, target %zu (%s vocab.json); eos %d, unk %d, pad %d, decoder start %d\n",
              vocab.source_size(), vocab.target_size(), vocab.separate_vocabs() ? "separate" : "one", c.eos_id,
              vocab.unk_id(), c.pad_id, c.decoder_start_id);
  const bool tied = (w.output.weight && w.output.weight == w.decoder_embed) ||
                    (w.output.int8 && w.output.int8 == w.decoder_embed_int8) ||
                    (w.output.clustered && w.output.clustered == w.decoder_embed_binary);
  std::printf("embeddings  encoder ← %s, decoder ← %s, output ← %s (%s)\n", w.encoder_embed_name.c_str(),
              w.decoder_embed_name.c_str(), w.output_projection_name.c_str(), tied ? "tied" : "untied");
}

// Stored bits (scales and tables included) first: what the size is; then the code alone.
void print_block_bits(const std::vector<TensorBits>& rows) {
  auto line = [](const char* label, const std::map<std::string, double>& avg) {
    std::printf("%s", label);
    for (const char* b : {"embedding", "encoder", "decoder", "output", "all"})
      if (avg.count(b)) std::printf("  %s %.2f", std::string(b) == "all" ? "all weights" : b, avg.at(b));
    std::printf("\n");
  };
  line("average bits", average_bits(rows));
  line("code bits   ", average_code_bits(rows));
}

// Static INT8 inputs (ranges, zero points) and the layers that fell back.
void print_int8_inputs(MarianWeights& w, const std::map<std::string, Int8Fallback>& fallbacks, bool summary) {
  int statics = 0, asymmetric = 0, to_fp32 = 0;
  for (const NamedLinear& l : linear_layers(w))
    if (l.weights->input.threshold > 0) ++statics, asymmetric += l.weights->input.asymmetric;
  for (const auto& [name, f] : fallbacks) to_fp32 += f.input == "fp32";
  if (statics == 0 && fallbacks.empty()) return;
  std::printf("activations %d static inputs (%d u8 with a zero point, %d s8 symmetric); fallbacks: %zu to dynamic, "
              "%d to fp32\n", statics, asymmetric, statics - asymmetric, fallbacks.size() - to_fp32, to_fp32);
  if (summary) return;
  for (const auto& [name, f] : fallbacks)
    std::printf("  fallback  %-50s → %-7s (output error: static %.2e, dynamic %.2e)\n", name.c_str(), f.input.c_str(),
                f.static_error, f.dynamic_error);
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Show a model's configuration, layout and tensors (checkpoint or .qtm)");
  auto path = std::make_shared<std::string>();
  auto summary = std::make_shared<bool>(false);
  cmd->add_option("PATH", *path, "Checkpoint directory, .h5 file or .qtm file")->required();
  cmd->add_flag("--summary", *summary, "Only the configuration and totals, not every tensor");
  cmd->callback([path, summary] {
    std::vector<TensorBits> rows;
    if (looks_like_qtm(*path)) {
      QtmModel q = read_qtm(*path);
      rows = tensor_bits(q);
      VocabularyFiles vf = q.vocab;
      MarianWeights w = qtm_weights(q, *path);
      Vocabulary vocab(vf, w.config.vocab_size, w.config.decoder_vocab_size);
      print_summary(*path, *path, static_cast<int64_t>(std::filesystem::file_size(*path)), w, vocab);
      size_t tokenizer_bytes = 0;
      for (const TokenizerFile& f : kTokenizerFiles)
        if (!(f.text == &VocabularyFiles::target_spm && vf.target_spm == vf.source_spm))  // stored once
          tokenizer_bytes += (vf.*f.text).size();
      std::printf("tokenizer   %s (%zu bytes)\n", q.tokenizer_beside ? "beside the file" : "in the file", tokenizer_bytes);
      print_int8_inputs(w, q.int8_fallbacks, *summary);
    } else {
      checkpoint::Checkpoint ck = checkpoint::load_checkpoint(*path, /*keep_raw=*/true);
      rows = tensor_bits(ck.raw);
      Vocabulary vocab(ck.vocab_files, ck.weights.config.vocab_size, ck.weights.config.decoder_vocab_size);
      print_summary(*path, ck.weights_file, ck.weights_bytes, ck.weights, vocab);
    }
    std::sort(rows.begin(), rows.end(), [](const TensorBits& a, const TensorBits& b) { return a.name < b.name; });
    int64_t params = 0, bytes = 0;
    if (!*summary)
      std::printf("\n%-60s %-13s %-14s %12s %6s %6s\n", "tensor", "type", "shape", "bytes", "bits", "+scale");
    for (const TensorBits& r : rows) {
      params += r.params;
      bytes += r.bytes;
      if (!*summary)
        std::printf("%-60s %-13s %-14s %12lld %6.2f %6.2f\n", r.name.c_str(), r.type.c_str(), r.shape.c_str(),
                    static_cast<long long>(r.bytes), r.code_bits, 8.0 * r.bytes / std::max<int64_t>(r.params, 1));
    }
    print_block_bits(rows);
    std::printf("%s%zu tensors, %lld parameters, %lld bytes of tensors (%.2f bits per parameter, scales included)\n",
                *summary ? "" : "\n", rows.size(), static_cast<long long>(params), static_cast<long long>(bytes),
                8.0 * bytes / std::max<int64_t>(params, 1));
  });
}

}  // namespace qtool::cli
