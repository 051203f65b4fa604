#include <cstdio>

#include "checkpoint/checkpoint.h"
#include "cli/commands.h"
#include "model/vocabulary.h"

namespace qtool::cli {

void add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Show a model's configuration, layout and tensors");
  auto path = std::make_shared<std::string>();
  auto summary = std::make_shared<bool>(false);
  cmd->add_option("PATH", *path, "Checkpoint directory or .h5 file")->required();
  cmd->add_flag("--summary", *summary, "Only the configuration and totals, not every tensor");
  cmd->callback([path, summary] {
    checkpoint::Checkpoint ck = checkpoint::load_checkpoint(*path, /*keep_raw=*/true);
    const MarianWeights& w = ck.weights;
    const ModelConfig& c = w.config;
    Vocabulary vocab(ck.vocab_files, c.vocab_size, c.decoder_vocab_size);
    std::printf("model       %s (%s, %lld bytes)\n", path->c_str(), ck.weights_file.c_str(),
                static_cast<long long>(ck.weights_bytes));
    std::printf("layers      encoder %d, decoder %d; d_model %d; heads %d/%d (head dim %d/%d); ffn %d/%d\n",
                c.encoder_layers, c.decoder_layers, c.d_model, c.encoder_heads, c.decoder_heads,
                c.head_dim(false), c.head_dim(true), c.encoder_ffn_dim, c.decoder_ffn_dim);
    std::printf("blocks      %s; activation %s; scale_embedding %s; max positions %d\n",
                c.normalize_before ? "pre-norm" : "post-norm", activation_name(c.activation),
                c.scale_embedding ? "yes" : "no", c.max_position_embeddings);
    std::printf("vocabulary  source %zu, target %zu (%s vocab.json); eos %d, unk %d, pad %d, decoder start %d\n",
                vocab.source_size(), vocab.target_size(), vocab.separate_vocabs() ? "separate" : "one",
                c.eos_id, vocab.unk_id(), c.pad_id, c.decoder_start_id);
    const bool tied = w.output.weight == w.decoder_embed;
    std::printf("embeddings  encoder ← %s, decoder ← %s, output ← %s (%s)\n",
                w.encoder_embed_name.c_str(), w.decoder_embed_name.c_str(),
                w.output_projection_name.c_str(), tied ? "tied" : "untied");
    int64_t params = 0, bytes = 0;
    if (!*summary) std::printf("\n%-60s %-16s %12s\n", "tensor", "shape", "bytes");
    for (const auto& [name, t] : ck.raw) {
      params += t.numel();
      bytes += t.numel() * 4;
      if (!*summary)
        std::printf("%-60s %-16s %12lld\n", name.c_str(), shape_str(t.shape).c_str(),
                  static_cast<long long>(t.numel() * 4));
    }
    std::printf("%s%zu tensors, %lld parameters, %lld bytes as fp32\n", *summary ? "" : "\n", ck.raw.size(),
                static_cast<long long>(params), static_cast<long long>(bytes));
  });
}

}  // namespace qtool::cli
