#include "pipeline/sequential_gptq.h"

#include <set>

#include "calibrate/input_hessians.h"
#include "pipeline/block_reconstruction.h"
#include "quantize/gptq.h"
#include "runtime/model.h"
#include "util/progress.h"

namespace qtool::pipeline {
namespace {

// Ŵ of a quantized linear layer as FP32 (the statistics pass runs it in FP32).
TensorPtr decoded_weight(const LinearWeights& l) {
  if (l.binary) {
    const BinaryCodeTensor& t = *l.binary;
    Tensor w{{t.rows, t.cols}, std::vector<float>(size_t(t.rows * t.cols))};
    for (int64_t r = 0; r < t.rows; ++r)
      for (int64_t c = 0; c < t.cols; ++c) w.data[r * t.cols + c] = binary_code_value(t, r, c);
    return std::make_shared<Tensor>(std::move(w));
  }
  return std::make_shared<Tensor>(Tensor{{l.int8->rows, l.int8->cols}, dequantize(*l.int8)});
}

// The layer a linear belongs to ("encoder.3", from its sub-layer "encoder.3.ffn"),
// "" for the output projection.
std::string layer_of(const std::string& name) {
  const std::string sublayer = quantize::sublayer_of(name).first;
  const size_t dot = sublayer.rfind('.');
  return dot == std::string::npos ? "" : sublayer.substr(0, dot);
}

}  // namespace

void sequential_gptq(const MarianWeights& fp32, std::shared_ptr<const Vocabulary> vocab,
                     const std::vector<std::string>& lines, quantize::QuantizeConfig& qc,
                     quantize::QuantizeCache& cache, const std::string& config_file, bool progress) {
  MarianWeights sim = fp32;  // tensors shared; a quantized layer's are replaced, never written
  if (qc.vectors_f16) quantize::round_vectors_to_half(sim);
  auto reference = std::make_shared<runtime::MarianModel>(sim);  // FP32 (with the file's vectors)
  // The FP32 model's greedy translations: the tokens both models are fed.
  const auto [sources, targets] = teacher_tokens(reference, vocab, lines);

  std::vector<std::string> stages;  // the layers in the order data flows, then the output projection
  for (const NamedLinear& l : linear_layers(sim)) {
    const std::string layer = layer_of(l.name);
    if (!layer.empty() && (stages.empty() || stages.back() != layer)) stages.push_back(layer);
  }
  stages.push_back("");
  const bool own_output = !qc.plan.output_shares_embedding;  // else the embedding's code, made by quantize_model
  Progress bar("sequential GPTQ (layers)", int64_t(stages.size()), progress);
  for (size_t s = 0; s < stages.size(); ++s) {
    auto in_stage = [&](const std::string& name) {
      return stages[s].empty() ? name == "lm_head" : layer_of(name) == stages[s];
    };
    calibrate::PairedHessians pass;
    if (s > 0) {  // encoder layer 0's inputs are the FP32 model's: qc.hessians as given
      std::set<std::string> inputs;
      for (const NamedLinear& l : linear_layers(sim))
        if (in_stage(l.name)) inputs.insert(linear_input_name(l.name));
      runtime::MarianModel model(sim);
      pass = calibrate::collect_paired_hessians(model, *reference, sources, targets, 32, inputs);
      for (const NamedLinear& l : linear_layers(sim)) {
        if (!in_stage(l.name)) continue;
        const std::string input = linear_input_name(l.name);
        qc.hessians[input] = std::make_shared<const std::vector<float>>(pass.h.at(input));
        if (qc.bias_correction) qc.input_means[input] = std::make_shared<const std::vector<float>>(pass.means.at(input));
      }
    }
    for (NamedLinear& l : linear_layers(sim)) {
      if (!in_stage(l.name) || (stages[s].empty() && !own_output)) continue;
      const quantize::Precision p = stages[s].empty() ? qc.plan.output_projection : qc.plan.of(l.name);
      LinearWeights q = *l.weights;
      if (s > 0 && p.kind == quantize::Precision::Kind::binary) {
        const std::string input = linear_input_name(l.name);
        const Tensor& w = *l.weights->weight;
        q.weight = std::make_shared<Tensor>(Tensor{
            w.shape, quantize::compensated_weights(w.data.data(), w.dim(0), w.dim(1), pass.h.at(input).data(),
                                                   pass.cross.at(input).data(), qc.gptq_options.damp)});
      }
      quantize::quantize_linear(l.name, q, p, qc, &cache, config_file);
      if (!q.quantized()) continue;  // FP32 by the plan
      l.weights->weight = decoded_weight(q);
      l.weights->bias = q.bias;  // bias correction's, when on
    }
    bar.advance();
  }
  bar.finish();
}

}  // namespace qtool::pipeline
